# NixOS module for instant-ngp.
#
#   programs.instant-ngp.enable             installs the package and enables hardware.graphics, so
#                                           that /run/opengl-driver/lib exists (the CUDA build finds
#                                           libcuda.so there, the viewer its OpenGL driver)
#   programs.instant-ngp.package            which build: by default this repository's package built
#                                           with the system's nixpkgs, so nixpkgs.config.cudaSupport
#                                           selects the CUDA build
#   programs.instant-ngp.gpuBuilder.enable  makes this machine a Nix builder for the GPU-gated checks
#                                           (requiredSystemFeatures = [ "cuda" ]); enables
#                                           hardware.graphics too, whose driver package the sandbox
#                                           hook mounts
#
# It sets no nixpkgs.* option: those are read-only in testers.runNixOSTest and belong to the user.
{
  config,
  lib,
  options,
  pkgs,
  ...
}:

let
  cfg = config.programs.instant-ngp;
  gpuFeatures = [
    "cuda"
    "gpu"
    "nvidia-gpu"
    "opengl"
  ];
  # hardware.graphics replaced hardware.opengl in NixOS 24.11; decided on the options that exist,
  # never on config.
  enableGraphics =
    if options.hardware ? graphics then
      { hardware.graphics.enable = true; }
    else
      { hardware.opengl.enable = true; };
in
{
  options.programs.instant-ngp = {
    enable = lib.mkEnableOption ''
      instant-ngp, a NeRF trainer and viewer. Also enables `hardware.graphics`,
      which creates /run/opengl-driver/lib, where NixOS puts the GPU drivers that the CUDA build
      and the viewer load at run time'';

    package = lib.mkOption {
      type = lib.types.package;
      default = pkgs.callPackage ../pkgs/instant-ngp/package.nix { };
      defaultText = lib.literalExpression "pkgs.callPackage <some-pkgs/pkgs/instant-ngp/package.nix> { }";
      example = lib.literalExpression "some-pkgs.legacyPackages.\${pkgs.stdenv.hostPlatform.system}.pkgsCuda.instant-ngp";
      description = ''
        The instant-ngp package. The default builds this repository's package with the system's
        nixpkgs, so `nixpkgs.config.cudaSupport = true` (with the CUDA licences allowed) gives the
        CUDA build, for the capabilities in `nixpkgs.config.cudaCapabilities`.
      '';
    };

    gpuBuilder.enable = lib.mkEnableOption ''
      running the GPU-gated checks (derivations with `requiredSystemFeatures = [ "cuda" ]`, such
      as `instant-ngp.gpuCheck`) on this machine. It enables `programs.nix-required-mounts` with
      its `nvidia-gpu` preset, which mounts the driver and the /dev/nvidia* nodes into the sandbox
      of those derivations only, and advertises the system features `cuda`, `gpu`, `nvidia-gpu`
      and `opengl` (NixOS keeps its own defaults beside them). It also enables
      `hardware.graphics`: the preset mounts `hardware.graphics.package`, which has a value only
      then.
      The NVIDIA driver itself is configured as usual (`services.xserver.videoDrivers = [ "nvidia" ]`,
      `hardware.nvidia.open`).

      To use this machine as a remote builder, the machine that delegates must list the feature
      too: in its `nix.buildMachines` entry, `supportedFeatures = [ "cuda" "gpu" "nvidia-gpu"
      "opengl" "nixos-test" "benchmark" "big-parallel" "kvm" ]`, or in /etc/nix/machines the sixth
      field, as in
      `ssh-ng://nix@gpu-box x86_64-linux - 8 1 cuda,gpu,nvidia-gpu,opengl,nixos-test,benchmark,big-parallel,kvm`.
      Nix sends a derivation only to a builder whose list contains all its required features'';
  };

  config = lib.mkMerge [
    (lib.mkIf cfg.enable { environment.systemPackages = [ cfg.package ]; })

    # /run/opengl-driver for the programs, and hardware.graphics.package for the sandbox hook.
    (lib.mkIf (cfg.enable || cfg.gpuBuilder.enable) enableGraphics)

    (lib.mkIf cfg.gpuBuilder.enable {
      programs.nix-required-mounts = {
        enable = true;
        presets.nvidia-gpu.enable = true;
      };
      nix.settings.system-features = gpuFeatures;
      warnings = lib.optional (!lib.elem "nvidia" config.services.xserver.videoDrivers) ''
        programs.instant-ngp.gpuBuilder is enabled but "nvidia" is not in
        services.xserver.videoDrivers: without the NVIDIA driver the GPU-gated checks cannot run
        here (their GPU tests would fail as skipped).
      '';
    })
  ];
}
