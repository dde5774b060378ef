# Stand-in for the virtualisation options of nixpkgs' nixos/modules/virtualisation/qemu-vm.nix
# that the VM tests set, with its types and defaults.
{ lib, ... }:
{
  options.virtualisation = {
    memorySize = lib.mkOption {
      type = lib.types.ints.positive;
      default = 1024;
    };
    cores = lib.mkOption {
      type = lib.types.ints.positive;
      default = 1;
    };
    resolution = lib.mkOption {
      type = lib.types.attrsOf lib.types.ints.positive;
      default = {
        x = 1024;
        y = 768;
      };
    };
  };
}
