# What CI builds and caches, in the NUR template's shape: every package of ../default.nix that is
# not broken, is available on this platform and whose licences this nixpkgs accepts, with all its
# outputs (so instant-ngp's dev, configs and scenes too).
#   nix-build ci/ci.nix -A cacheOutputs          (non-flake, with <nixpkgs>: free packages only)
#   nix build .#legacyPackages.x86_64-linux.ci.buildOutputsLinkFarm   (the flake's nixpkgs)
# The fox data is not a top-level package (instant-ngp.data: see ../default.nix); the workflow
# builds it by name.
# Differences from the template: a list of licences counts as unfree when any of them is, and
# config.allowUnfreePredicate is honoured. The CUDA variant is not here (it needs CUDA's licences
# and cudaSupport): CI builds it in a job of its own.
{
  pkgs ? import <nixpkgs> { },
}:

let
  inherit (pkgs) lib;

  reserved = import ./reserved-names.nix;

  isDerivation = p: lib.isAttrs p && p.type or null == "derivation";
  isBroken = p: p.meta.broken or false;
  isFree = p: lib.all (license: license.free or true) (lib.toList (p.meta.license or [ ]));
  isAccepted =
    p:
    isFree p || pkgs.config.allowUnfree or false || (pkgs.config.allowUnfreePredicate or (_: false)) p;
  isBuildable = p: !isBroken p && isAccepted p && lib.meta.availableOn pkgs.stdenv.hostPlatform p;
  isCacheable = p: !(p.preferLocalBuild or false);
  shouldRecurse = p: lib.isAttrs p && p.recurseForDerivations or false;

  flattenPkgs =
    s:
    lib.concatMap (
      p:
      if shouldRecurse p then
        flattenPkgs p
      else if isDerivation p then
        [ p ]
      else
        [ ]
    ) (lib.attrValues s);

  outputsOf = p: map (o: p.${o}) p.outputs;

  nurPkgs = flattenPkgs (removeAttrs (import ../default.nix { inherit pkgs; }) reserved);
in
rec {
  buildPkgs = lib.filter isBuildable nurPkgs;
  cachePkgs = lib.filter isCacheable buildPkgs;

  buildOutputs = lib.unique (lib.concatMap outputsOf buildPkgs);
  cacheOutputs = lib.unique (lib.concatMap outputsOf cachePkgs);

  # One derivation that depends on every output of buildOutputs, for `nix build` (which cannot
  # take a list): building it builds them all, and cachix-action pushes what was built.
  buildOutputsLinkFarm = pkgs.linkFarm "some-pkgs-ci" (
    map (o: {
      name = "${o.name}-${o.outputName}";
      path = o;
    }) buildOutputs
  );
}
