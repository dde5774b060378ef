# The stand-in nixpkgs as a flake input (`nix flake check --override-input nixpkgs path:...`):
# `lib` is nixpkgs' real lib with nixosSystem, as nixpkgs' flake has it, here over the stand-in
# NixOS options; `legacyPackages.<system>` is the package set with the default config, as in
# nixpkgs' flake; `import nixpkgs { ... }` reads ./default.nix.
{
  outputs =
    { self }:
    {
      lib = (import ./lib).extend (
        final: _: {
          nixosSystem = args: import ./nixos/lib/eval-config.nix ({ lib = final; } // args);
        }
      );
      legacyPackages = self.lib.genAttrs [
        "x86_64-linux"
        "aarch64-linux"
      ] (system: import ./. { inherit system; });
    };
}
