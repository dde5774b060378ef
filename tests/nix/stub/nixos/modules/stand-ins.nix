# Stand-in declarations of the NixOS options that modules/instant-ngp.nix and the tests touch,
# with the types and defaults of nixpkgs' own declarations (nixos/modules/hardware/graphics.nix,
# programs/nix-required-mounts.nix, config/nix.nix, misc/nixpkgs.nix, ...), and the definitions of
# theirs that some-pkgs depends on:
# - hardware.graphics.package has a value only while hardware.graphics.enable is true;
# - the nvidia-gpu preset of nix-required-mounts puts hardware.graphics.package among the paths
#   of its hook, whose store path is nix.settings.pre-build-hook: reading the hook forces it;
# - nix.settings.system-features: NixOS' defaults are the option's default and also a definition
#   of normal priority, so others' definitions merge with them (nixpkgs PR 383052; before it they
#   were mkDefault and any definition replaced them, nixpkgs issue 380601);
# - the nvidia-gpu preset does not enable hardware.graphics itself (newer nixpkgs' does, with
#   mkDefault): a module that needs it must enable it, which works with both.
# - system.build.toplevel fails on a failed assertion and shows the warnings, as NixOS does.
{
  config,
  lib,
  pkgs,
  ...
}:

let
  inherit (lib) mkOption types;
  graphics = config.hardware.graphics;
  mounts = config.programs.nix-required-mounts;
  # programs.nix-required-mounts' types: a path to mount as is, or a host path at a guest path.
  mount = types.submodule {
    options.host = mkOption { type = types.str; };
    options.guest = mkOption { type = types.str; };
  };
  pattern = types.submodule (
    { name, ... }:
    {
      options = {
        onFeatures = mkOption {
          type = types.listOf types.str;
          default = [ name ];
        };
        paths = mkOption {
          type = types.listOf (
            types.oneOf [
              types.path
              mount
            ]
          );
        };
        unsafeFollowSymlinks = lib.mkEnableOption "mounting the targets of symlinks";
      };
    }
  );
  # NixOS' nix.settings freeform type (config/nix.nix' semanticConfType).
  confAtom = types.nullOr (
    types.oneOf [
      types.bool
      types.int
      types.float
      types.str
      types.path
      types.package
    ]
  );
  defaultSystemFeatures = [
    "nixos-test"
    "benchmark"
    "big-parallel"
    "kvm"
  ];
  failedAssertions = map (a: a.message) (lib.filter (a: !a.assertion) config.assertions);
in
{
  imports = [
    (lib.mkRenamedOptionModule [ "hardware" "opengl" "enable" ] [ "hardware" "graphics" "enable" ])
    (lib.mkRenamedOptionModule [ "hardware" "opengl" "package" ] [ "hardware" "graphics" "package" ])
    (lib.mkRenamedOptionModule
      [ "hardware" "opengl" "extraPackages" ]
      [ "hardware" "graphics" "extraPackages" ]
    )
  ];

  options = {
    nixpkgs.hostPlatform = mkOption {
      type = types.either types.str types.attrs;
      apply = lib.systems.elaborate;
    };
    system.stateVersion = mkOption {
      type = types.str;
      default = lib.trivial.release;
    };
    system.build = mkOption {
      type = types.lazyAttrsOf types.unspecified;
      default = { };
    };
    boot.loader.grub.enable = mkOption {
      type = types.bool;
      default = true;
    };
    fileSystems = mkOption {
      type = types.attrsOf (types.submodule { freeformType = types.attrsOf types.anything; });
      default = { };
    };
    assertions = mkOption {
      type = types.listOf types.unspecified;
      default = [ ];
    };
    warnings = mkOption {
      type = types.listOf types.str;
      default = [ ];
    };
    environment.systemPackages = mkOption {
      type = types.listOf types.package;
      default = [ ];
    };
    services.xserver.enable = mkOption {
      type = types.bool;
      default = false;
    };
    services.xserver.videoDrivers = mkOption {
      type = types.listOf types.str;
      default = [
        "modesetting"
        "fbdev"
      ];
    };

    hardware.graphics = {
      enable = mkOption {
        type = types.bool;
        default = false;
      };
      enable32Bit = mkOption {
        type = types.bool;
        default = false;
      };
      package = mkOption {
        type = types.package;
        internal = true;
      };
      package32 = mkOption {
        type = types.package;
        internal = true;
      };
      extraPackages = mkOption {
        type = types.listOf types.package;
        default = [ ];
      };
      extraPackages32 = mkOption {
        type = types.listOf types.package;
        default = [ ];
      };
    };

    programs.nix-required-mounts = {
      enable = lib.mkEnableOption "the sandbox hook";
      presets.nvidia-gpu.enable = lib.mkEnableOption "the nvidia-gpu preset";
      allowedPatterns = mkOption {
        type = types.attrsOf pattern;
        default = { };
      };
      extraWrapperArgs = mkOption {
        type = types.listOf types.str;
        default = [ ];
      };
      package = mkOption {
        type = types.package;
        internal = true;
        default = pkgs.nix-required-mounts.override { inherit (mounts) allowedPatterns extraWrapperArgs; };
      };
    };

    nix.enable = mkOption {
      type = types.bool;
      default = true;
    };
    nix.settings = mkOption {
      type = types.submodule {
        freeformType = types.attrsOf (types.either confAtom (types.listOf confAtom));
        options.system-features = mkOption {
          type = types.listOf types.str;
          default = defaultSystemFeatures;
        };
      };
      default = { };
    };
  };

  config = lib.mkMerge [
    {
      _module.args.pkgs = import ../.. { system = config.nixpkgs.hostPlatform.system; };
      system.build.toplevel =
        if failedAssertions != [ ] then
          throw "Failed assertions:\n${lib.concatMapStrings (m: "- ${m}\n") failedAssertions}"
        else
          lib.showWarnings config.warnings (
            pkgs.runCommand "nixos-system-stand-in" {
              packages = config.environment.systemPackages;
              nixConf = builtins.toJSON config.nix.settings;
            } ""
          );
    }
    (lib.mkIf config.nix.enable { nix.settings.system-features = defaultSystemFeatures; })
    (lib.mkIf graphics.enable { hardware.graphics.package = lib.mkDefault pkgs.mesa; })
    (lib.mkIf mounts.enable (
      lib.mkMerge [
        { nix.settings.pre-build-hook = lib.getExe mounts.package; }
        (lib.mkIf mounts.presets.nvidia-gpu.enable {
          nix.settings.system-features = mounts.allowedPatterns.nvidia-gpu.onFeatures;
          programs.nix-required-mounts.allowedPatterns.nvidia-gpu = {
            inherit (pkgs.nix-required-mounts.allowedPatterns.nvidia-gpu) onFeatures;
            paths =
              pkgs.nix-required-mounts.allowedPatterns.nvidia-gpu.paths
              ++ [
                pkgs.addDriverRunpath.driverLink
                graphics.package
              ]
              ++ graphics.extraPackages;
            unsafeFollowSymlinks = false;
          };
        })
      ]
    ))
  ];
}
