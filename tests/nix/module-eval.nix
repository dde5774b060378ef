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
  # gpuBuilder alone, as a user would turn it on: nothing else set.
  builder = evalWith { programs.instant-ngp.gpuBuilder.enable = true; };
  builderWithDriver = evalWith {
    programs.instant-ngp.gpuBuilder.enable = true;
    services.xserver.videoDrivers = [ "nvidia" ];
  };

  evaluates = x: (builtins.tryEval (builtins.deepSeq x x)).success;
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
    "gpuBuilder: advertises the GPU features, and NixOS' defaults stay" =
      lib.all (f: lib.elem f builder.nix.settings.system-features)
        [
          "cuda"
          "gpu"
          "nvidia-gpu"
          "opengl"
          "kvm"
          "nixos-test"
        ];
    # The preset mounts hardware.graphics.package, which has a value only with hardware.graphics:
    # the hook's store path must evaluate, not merely exist.
    "gpuBuilder alone: enables hardware.graphics, and the sandbox hook evaluates" =
      builder.hardware.graphics.enable && evaluates builder.nix.settings.pre-build-hook;
    "gpuBuilder: warns without the NVIDIA driver" = ourWarning builder;
    "gpuBuilder: no warning with it" = !ourWarning builderWithDriver;
  };

  # A property that throws (an option used but not defined) does not hold either.
  holds = p: (builtins.tryEval p).success && p;
  failed = lib.attrNames (lib.filterAttrs (_: p: !holds p) properties);
in
runCommand "instant-ngp-module-eval"
  {
    __structuredAttrs = true;
    strictDeps = true;
    inherit failed;
    features = builderWithDriver.nix.settings.system-features;
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
