# some-pkgs for NUR and plain Nix: `nix-build -A instant-ngp`, `nix-build -A instant-ngp.configs`.
# Takes a nixpkgs package set and imports none itself beyond the `<nixpkgs>` default; flake.nix,
# ci/ci.nix and overlays/default.nix all go through this file. Variants come from the nixpkgs you
# pass, e.g. CUDA:
#   nix-build -A instant-ngp --arg pkgs 'import <nixpkgs> { config = { cudaSupport = true; allowUnfree = true; }; }'
# NVIDIA's fox is unfree: it is only reachable one level down, as instant-ngp.fox and
# instant-ngp.data (NIXPKGS_ALLOW_UNFREE=1 nix-build -A instant-ngp.data). NUR's evaluation
# (nix-env -qa on plain <nixpkgs>, nothing unfree allowed) looks at every top-level derivation and
# silently drops one that throws, as check-meta's unfree refusal does: what NUR lists must evaluate.
{
  pkgs ? import <nixpkgs> { },
}:

{
  # Special attributes: not packages (ci/ci.nix, the overlay and flake.nix skip these names).
  nixosModules = import ./modules;
  overlays = import ./overlays;

  instant-ngp = pkgs.callPackage ./pkgs/instant-ngp/package.nix { };
}
