# Evaluates (builds nothing of) NixOS configurations that use modules/instant-ngp.nix, with the
# real NixOS module system, and checks what each option sets: the VM tests only ever run `enable`,
# and no test machine has the GPU that `gpuBuilder` is for. The derivation fails, listing the
# properties that do not hold, if any. A flake check: nix build .#checks.x86_64-linux.module-eval
{
  lib,
  runCommand,
  nixosSystem,
  hostSystem,
  instant-ngp,
}:

let
  evalWith =
    module:
    (nixosSystem {
      modules = [
        ../../modules/instant-ngp.nix
        {
          nixpkgs.hostPlatform = hostSystem;
          boot.loader.grub.enable = false;
          fileSystems."/".device = "/dev/null";
          system.stateVersion = lib.trivial.release;
        }
        module
      ];
    }).config;

  off = evalWith { };
  on = evalWith {
    programs.instant-ngp = {
      enable = true;
      package = instant-ngp;
    };
  };
  builder = evalWith { programs.instant-ngp.gpuBuilder.enable = true; };
  # An x86_64 machine built for Haswell: NixOS advertises gccarch-haswell and the architectures
  # below it. (Only evaluated, lazily, by the x86_64-linux property below.)
  builderHaswell = evalWith {
    programs.instant-ngp.gpuBuilder.enable = true;
    nixpkgs.hostPlatform = lib.mkForce {
      system = hostSystem;
      gcc.arch = "haswell";
    };
  };
  builderWithDriver = evalWith {
    programs.instant-ngp.gpuBuilder.enable = true;
    services.xserver.videoDrivers = [ "nvidia" ];
  };

  ourWarning = config: lib.any (lib.hasInfix "programs.instant-ngp.gpuBuilder") config.warnings;
  # By name: comparing derivations would force every system package's store path.
  installed = config: lib.any (p: lib.getName p == "instant-ngp") config.environment.systemPackages;

  properties = {
    "off: nothing installed, hardware.graphics left alone" =
      !installed off && !off.hardware.graphics.enable;
    "enable: installs the package" = installed on;
    "enable: enables hardware.graphics (/run/opengl-driver)" = on.hardware.graphics.enable;
    "enable: no GPU builder" = !on.programs.nix-required-mounts.enable;
    "gpuBuilder: nix-required-mounts with the nvidia-gpu preset" =
      builder.programs.nix-required-mounts.enable
      && builder.programs.nix-required-mounts.presets.nvidia-gpu.enable;
    "gpuBuilder: advertises the GPU features and keeps NixOS' defaults" =
      lib.all (f: lib.elem f builder.nix.settings.system-features) [
        "cuda"
        "gpu"
        "nvidia-gpu"
        "opengl"
        "nixos-test"
        "benchmark"
        "big-parallel"
        "kvm"
      ];
    "gpuBuilder: keeps the gccarch features of the host's gcc.arch" =
      hostSystem != "x86_64-linux"
      || lib.all (f: lib.elem f builderHaswell.nix.settings.system-features) [
        "cuda"
        "gccarch-haswell"
        "gccarch-sandybridge"
      ];
    "gpuBuilder: the sandbox hook is set" = builder.nix.settings ? pre-build-hook;
    "gpuBuilder: warns without the NVIDIA driver" = ourWarning builder;
    "gpuBuilder: no warning with it" = !ourWarning builderWithDriver;
  };

  failed = lib.attrNames (lib.filterAttrs (_: holds: !holds) properties);
in
runCommand "instant-ngp-module-eval"
  {
    __structuredAttrs = true;
    strictDeps = true;
    inherit failed;
    features = builder.nix.settings.system-features;
  }
  ''
    if [ "''${#failed[@]}" -ne 0 ]; then
      echo "module-eval: properties that do not hold:" >&2
      printf '  %s\n' "''${failed[@]}" >&2
      exit 1
    fi
    echo "module-eval: all ${toString (lib.length (lib.attrNames properties))} properties hold"
    echo "gpuBuilder's system features: ''${features[*]}" | tee "$out"
  ''
