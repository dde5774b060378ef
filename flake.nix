{
  description = "some-pkgs: a Nix package set (NUR style) around instant-ngp, a C implementation of NVIDIA's instant-ngp NeRF";

  # The only input. `nix flake lock` writes flake.lock (commit it); CI pins nothing else.
  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  # The binary cache, to be switched on once the Cachix cache exists: uncomment and put the public
  # key that `cachix` shows for the cache. It stays commented until then because a malformed key
  # makes Nix fail every signature check for users who accept this flake's configuration.
  # nixConfig = {
  #   extra-substituters = [ "https://some-pkgs.cachix.org" ];
  #   extra-trusted-public-keys = [ "some-pkgs.cachix.org-1:<PUBLIC KEY OF THE CACHE, TO BE FILLED IN>" ];
  # };

  outputs =
    { self, nixpkgs }:
    let
      inherit (nixpkgs) lib;

      # Linux only: the package is built and tested there, NixOS tests need it, and CUDA too.
      systems = [
        "x86_64-linux"
        "aarch64-linux"
      ];
      forAllSystems = lib.genAttrs systems;

      reserved = import ./ci/reserved-names.nix;
      packagesOf = pkgs: removeAttrs (import ./default.nix { inherit pkgs; }) reserved;

      # The one unfree licence this flake accepts by itself: NVIDIA's non-commercial licence on the
      # fox scene, for the two data derivations that contain it, so that
      # `nix build .#instant-ngp.data` works as written. Nothing else; instant-ngp itself is MIT.
      allowFoxData =
        pkg:
        lib.elem (lib.getName pkg) [
          "instant-ngp-fox"
          "instant-ngp-data"
        ];
      pkgsFor = forAllSystems (
        system:
        import nixpkgs {
          inherit system;
          config.allowUnfreePredicate = allowFoxData;
        }
      );
      # CUDA architectures: nixpkgs' default cudaCapabilities. Choose others with
      #   pkgsCuda.instant-ngp.override { cudaPackages = ...; } or your own nixpkgs and the overlay.
      # CUDA's licences (the CUDA EULA and friends) are accepted through nixpkgs' own predicate for
      # them, taken from this same package set (it is only read lazily, once a package is checked).
      pkgsCudaFor = forAllSystems (
        system:
        let
          pkgs = import nixpkgs {
            inherit system;
            config = {
              cudaSupport = true;
              allowUnfreePredicate = pkg: allowFoxData pkg || allowCuda pkg;
            };
          };
          allowCuda =
            pkgs._cuda.lib.allowUnfreeCudaPredicate or (throw (
              "some-pkgs' flake.nix: this nixpkgs has no _cuda.lib.allowUnfreeCudaPredicate, with which "
              + "pkgsCuda accepts CUDA's licences; use a newer nixpkgs (the flake's input), or the overlay "
              + "with your own config.allowUnfreePredicate"
            ));
        in
        pkgs
      );
    in
    {
      overlays = import ./overlays;
      nixosModules = import ./modules;

      legacyPackages = forAllSystems (
        system:
        let
          pkgs = pkgsFor.${system};
          inherit (self.packages.${system}) instant-ngp;
        in
        packagesOf pkgs
        // {
          # nix build .#legacyPackages.x86_64-linux.pkgsCuda.instant-ngp
          # nix build .#legacyPackages.x86_64-linux.pkgsCuda.instant-ngp.gpuCheck   (needs a GPU builder)
          pkgsCuda = packagesOf pkgsCudaFor.${system};
          # What CI builds: ci.buildOutputsLinkFarm (see ci/ci.nix).
          ci = import ./ci/ci.nix { inherit pkgs; };
          # The NixOS VM tests, also in checks: nix build .#legacyPackages.x86_64-linux.tests.vm-viewer
          tests = {
            inherit (instant-ngp.tests) vm-headless vm-viewer;
          };
        }
      );

      # Flat: derivations only (instant-ngp), plus `default`. The fox data is instant-ngp.data:
      # `nix build .#instant-ngp.data`.
      packages = forAllSystems (
        system:
        let
          ours = lib.filterAttrs (_: lib.isDerivation) (packagesOf pkgsFor.${system});
        in
        ours // { default = ours.instant-ngp; }
      );

      # `nix flake check`: the package build (its doCheck runs the cmocka, CLI and viewer tests),
      # its sandbox tests, the two NixOS VM tests, the module's options evaluated, and formatting
      # (nixfmt over the Nix files, clang-format over the C sources).
      # GPU checks stay out: no CI builder has a GPU (they are pkgsCuda.instant-ngp.gpuCheck, built
      # on a machine with the `cuda` feature).
      checks = forAllSystems (
        system:
        let
          pkgs = pkgsFor.${system};
          inherit (self.packages.${system}) instant-ngp;
        in
        {
          inherit instant-ngp;
          instant-ngp-version = instant-ngp.tests.version;
          instant-ngp-pkg-config = instant-ngp.tests.pkg-config;
          instant-ngp-train-cpu = instant-ngp.tests.train-cpu;
          vm-headless = instant-ngp.tests.vm-headless;
          vm-viewer = instant-ngp.tests.vm-viewer;
          module-eval = pkgs.callPackage ./tests/nix/module-eval.nix {
            inherit (nixpkgs.lib) nixosSystem;
            inherit instant-ngp;
            hostSystem = system;
          };
          # .clang-format over src/ and tests/ with nixpkgs' clang-format: the script of the `format`
          # CTest test (Debian's clang-format there), over only what it reads.
          clang-format =
            let
              src = lib.fileset.toSource {
                root = ./.;
                fileset = lib.fileset.unions [
                  ./.clang-format
                  ./src
                  ./tests
                ];
              };
            in
            pkgs.runCommand "some-pkgs-clang-format"
              {
                __structuredAttrs = true;
                strictDeps = true;
                nativeBuildInputs = [ pkgs.clang-tools ];
                inherit src;
              }
              ''
                sh ${src}/tests/arch/check_format.sh ${src}
                touch "$out"
              '';
          formatting =
            pkgs.runCommand "some-pkgs-nixfmt"
              {
                __structuredAttrs = true;
                strictDeps = true;
                nativeBuildInputs = [ pkgs.nixfmt ];
              }
              ''
                cd ${self}
                find . -name '*.nix' -print0 | xargs -0 nixfmt --check
                touch "$out"
              '';
        }
      );

      # `nix fmt`: nixfmt over the whole tree.
      formatter = forAllSystems (system: pkgsFor.${system}.nixfmt-tree);
    };
}
