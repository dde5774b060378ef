# some-pkgs for NUR and plain Nix: `nix-build -A instant-ngp`, `nix-build -A instant-ngp.configs`.
# Takes a nixpkgs package set and imports none itself beyond the `<nixpkgs>` default; flake.nix,
# ci/ci.nix and overlays/default.nix all go through this file. Variants come from the nixpkgs you
# pass, e.g. CUDA:
#   nix-build -A instant-ngp --arg pkgs 'import <nixpkgs> { config = { cudaSupport = true; allowUnfree = true; }; }'
# instant-ngp-fox and instant-ngp-data are unfree (NVIDIA's fox): NIXPKGS_ALLOW_UNFREE=1 for them.
{
  pkgs ? import <nixpkgs> { },
}:

rec {
  # Special attributes: not packages (ci/ci.nix, the overlay and flake.nix skip these names).
  nixosModules = import ./modules;
  overlays = import ./overlays;

  instant-ngp = pkgs.callPackage ./pkgs/instant-ngp/package.nix { };
  instant-ngp-fox = instant-ngp.fox;
  instant-ngp-data = instant-ngp.data;
}
