# Stand-in for nixpkgs' nixos/tests/common/x11.nix: an X session on the test machine.
{ lib, ... }:
{
  services.xserver.enable = lib.mkDefault true;
}
