# Stand-in for nixpkgs' nixos/lib/eval-config.nix: the given modules with the stand-in NixOS
# options (../modules/stand-ins.nix), through nixpkgs' real module system. `pkgs` is the
# stand-in package set for nixpkgs.hostPlatform, as NixOS' nixpkgs module makes it.
{
  lib ? import ../../lib,
  modules,
  specialArgs ? { },
  ...
}:

lib.evalModules {
  specialArgs = {
    modulesPath = ../modules;
  }
  // specialArgs;
  modules = [ ../modules/stand-ins.nix ] ++ modules;
}
