# Overlays of some-pkgs (flake output `overlays`, NUR attribute `overlays`).
# `default` adds every package of ../default.nix to a nixpkgs package set, built against that set:
#   import nixpkgs { overlays = [ some-pkgs.overlays.default ]; config.cudaSupport = true; }
# gives the CUDA build as pkgs.instant-ngp. (`prev` is unused; `nix flake check` wants the names
# final and prev.)
let
  reserved = import ../ci/reserved-names.nix;
in
{
  default = final: prev: removeAttrs (import ../default.nix { pkgs = final; }) reserved;
}
