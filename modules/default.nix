# NixOS modules of some-pkgs (flake output `nixosModules`, NUR attribute `nixosModules`).
# Each is an attribute set that imports the module file by path, so importing two of these names
# does not declare the options twice.
{
  default = {
    imports = [ ./instant-ngp.nix ];
  };
  instant-ngp = {
    imports = [ ./instant-ngp.nix ];
  };
}
