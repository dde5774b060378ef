# Stand-in for nixpkgs' testers.runNixOSTest: the test's own options (name, nodes, testScript,
# enableOCR, ...) through the module system; every node is a NixOS configuration evaluated with
# the stand-in options, and the test derivation depends on each node's system.build.toplevel,
# so forcing its drvPath evaluates every node. Like nixpkgs', the result has passthru.config.
{ pkgs }:

test:
let
  inherit (pkgs) lib;
  nodeType = lib.types.submoduleWith {
    specialArgs.modulesPath = ../modules;
    modules = [
      ../modules/stand-ins.nix
      ../modules/qemu-vm.nix
      { nixpkgs.hostPlatform = lib.mkDefault pkgs.stdenv.hostPlatform.system; }
    ];
  };
  evaluated = lib.evalModules {
    modules = [
      {
        options = {
          name = lib.mkOption { type = lib.types.str; };
          enableOCR = lib.mkOption {
            type = lib.types.bool;
            default = false;
          };
          skipLint = lib.mkOption {
            type = lib.types.bool;
            default = false;
          };
          nodes = lib.mkOption {
            type = lib.types.lazyAttrsOf nodeType;
            default = { };
          };
          testScript = lib.mkOption {
            type = lib.types.either lib.types.str (lib.types.functionTo lib.types.str);
          };
        };
      }
      test
    ];
  };
  inherit (evaluated) config;
in
pkgs.runCommand "vm-test-run-${config.name}" {
  requiredSystemFeatures = [
    "nixos-test"
    "kvm"
  ];
  nodeSystems = lib.mapAttrsToList (_: node: node.system.build.toplevel) config.nodes;
  testScript =
    if lib.isFunction config.testScript then
      config.testScript { inherit (config) nodes; }
    else
      config.testScript;
  passthru.config = config;
} ""
