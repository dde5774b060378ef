# Attribute names of ../default.nix that are not packages (the NUR template's list, plus
# `modules`): the overlay, the flake's `packages` and ci/ci.nix all leave them out.
[
  "lib"
  "modules"
  "nixosModules"
  "homeModules"
  "darwinModules"
  "flakeModules"
  "overlays"
]
