# A stand-in for nixpkgs, for the `nix` tests (tests/nix/check-nix.sh): the packages, builders
# and testers some-pkgs takes, laid out as nixpkgs is (default.nix, flake.nix, lib/, nixos/).
# check-nix.sh copies this folder next to nixpkgs' real lib (./lib, from NGP_NIXPKGS_LIB), so
# everything here that is not a package stand-in is the real thing: callPackage and .override,
# the overlay fixpoint, lib.fileset, licences, lib.systems.
#
# What a stand-in keeps of nixpkgs' behaviour, because some-pkgs depends on it:
# - every package is a real derivation (`derivation` with a builder that is never run), so
#   drvPath and outPath are real store paths and nix-instantiate, nix-env and
#   `nix flake check --no-build` work on them; its attributes are the arguments it was given,
#   outputs are attributes (outputName, outputSpecified), passthru is on top, and overrideAttrs
#   takes `prev:` or `final: prev:`;
# - an unfree licence throws (nixpkgs' check-meta: throw, not assert) when drvPath or outPath is
#   forced, unless config.allowUnfree or config.allowUnfreePredicate accepts the package; so do
#   meta.broken (unless allowBroken) and a platform outside meta.platforms (unless
#   allowUnsupportedSystem);
# - fetchFromGitHub with sparseCheckout is fetchgit: a fixed-output derivation named by `name`,
#   sparseCheckout stored joined by newlines (a string throws), owner/repo/rev/tag on the result;
# - testers.runNixOSTest evaluates its nodes through the module system with the NixOS options
#   declared in ./nixos/modules/stand-ins.nix, and depends on every node's system.
{
  system ? builtins.currentSystem,
  config ? { },
  overlays ? [ ],
}:

let
  lib = import ./lib;

  fullConfig = {
    allowUnfree = false;
    cudaSupport = false;
  }
  // config;

  platform = lib.systems.elaborate system;

  licencesOf = attrs: lib.toList (attrs.meta.license or [ ]);
  unfreeLicences = attrs: lib.filter (l: !(l.free or true)) (licencesOf attrs);
  # check-meta's verdict on the arguments of mkDerivation, in its order: true, or a throw naming
  # the package (unfree, then broken, then a platform outside meta.platforms).
  refuse = attrs: why: throw "Package ‘${lib.getName attrs}’ ${why}, refusing to evaluate.";
  validity =
    attrs:
    let
      meta = attrs.meta or { };
    in
    if
      unfreeLicences attrs != [ ]
      && !fullConfig.allowUnfree
      && !(fullConfig.allowUnfreePredicate or (_: false)) attrs
    then
      refuse attrs "has an unfree license (‘${
        lib.concatMapStringsSep ", " (l: l.shortName or "unknown") (unfreeLicences attrs)
      }’)"
    else if meta.broken or false && !(fullConfig.allowBroken or false) then
      refuse attrs "is marked as broken"
    else if
      !lib.meta.availableOn platform { inherit meta; } && !(fullConfig.allowUnsupportedSystem or false)
    then
      refuse attrs "is not available on the requested hostPlatform (${platform.system})"
    else
      true;

  # A derivation's build environment: its arguments without meta and passthru (taken lazily: reading
  # one attribute forces no other).
  drvArgs =
    attrs:
    removeAttrs attrs [
      "meta"
      "passthru"
    ];

  makeDerivation =
    stdenv: attrsFn:
    let
      final = attrsFn (final // { finalPackage = pkg; });
      name = final.name or "${final.pname}-${final.version}";
      outputs = final.outputs or [ "out" ];
      drv = derivation (
        drvArgs final
        // {
          inherit name outputs;
          system = platform.system;
          builder = "/never-built";
          __structuredAttrs = true;
        }
        // lib.optionalAttrs (stdenv != null) { inherit stdenv; }
      );
      valid = validity final;
      outputOf = o: {
        outPath = builtins.seq valid drv.${o}.outPath;
        drvPath = builtins.seq valid drv.drvPath;
        outputName = o;
      };
      common =
        drvArgs final
        // (final.passthru or { })
        // {
          inherit name outputs;
          type = "derivation";
          system = platform.system;
          meta = final.meta or { };
          overrideAttrs = f: makeDerivation stdenv (lib.extends (lib.toExtension f) attrsFn);
        }
        // lib.optionalAttrs (stdenv != null) { inherit stdenv; }
        // builtins.listToAttrs (
          map (o: {
            name = o;
            value = common // outputOf o // { outputSpecified = true; };
          }) outputs
        );
      pkg = common // outputOf (builtins.head outputs);
    in
    pkg;

  # A stdenv is itself a derivation (what `stdenv` in a package's environment names).
  makeStdenv =
    name:
    let
      self = makeDerivation null (_: {
        inherit name;
        passthru = {
          mkDerivation = f: makeDerivation self (if lib.isFunction f then f else _: f);
          buildPlatform = platform;
          hostPlatform = platform;
          targetPlatform = platform;
        };
      });
    in
    self;

  leafWith =
    extra: pname:
    self0.stdenvNoCC.mkDerivation (
      {
        inherit pname;
        version = "0-stand-in";
        meta.mainProgram = pname;
      }
      // extra
    );
  leaf = leafWith { };
  # CUDA's packages carry CUDA's licence, which nixpkgs' _cuda predicate accepts.
  cudaLeaf = leafWith { meta.license = lib.licenses.nvidiaCudaRedist; };

  # What nix-required-mounts' package offers the NixOS module: its default patterns, and the hook.
  requiredMounts = lib.makeOverridable (
    {
      allowedPatterns ? { },
      extraWrapperArgs ? [ ],
    }:
    self0.stdenvNoCC.mkDerivation {
      pname = "nix-required-mounts";
      version = "0-stand-in";
      patterns = builtins.toJSON allowedPatterns;
      inherit extraWrapperArgs;
      meta.mainProgram = "nix-required-mounts";
      passthru.allowedPatterns.nvidia-gpu = {
        onFeatures = [
          "gpu"
          "nvidia-gpu"
          "opengl"
          "cuda"
        ];
        paths = [
          "/dev/dri"
          "/dev/nvidia*"
        ];
      };
    }
  ) { };

  base =
    self:
    {
      inherit lib system;
      config = fullConfig;
      pkgs = self;
      path = ./.;
      callPackage = lib.callPackageWith self;

      stdenv = makeStdenv "stdenv-linux";
      stdenvNoCC = makeStdenv "stdenv-linux-nocc";
      runtimeShell = "${self.bash}/bin/bash";

      runCommand =
        name: env: buildCommand:
        self.stdenvNoCC.mkDerivation (env // { inherit name buildCommand; });
      linkFarm =
        name: entries:
        self.runCommand name { preferLocalBuild = true; } (
          lib.concatMapStrings (e: "ln -s ${e.path} $out/${e.name}\n") entries
        );

      # As nixpkgs' fetchgit: sparseCheckout is a list (a string throws), stored in the derivation
      # joined by newlines; the result has rev, url, postFetch and passthru.gitRepoUrl.
      fetchgit =
        {
          url,
          rev,
          hash,
          name ? "source",
          sparseCheckout ? [ ],
          postFetch ? "",
          meta ? { },
        }:
        if builtins.isString sparseCheckout then
          throw "Please provide directories/patterns for sparse checkout as a list of strings. Passing a (multi-line) string is not supported any more."
        else
          self.stdenvNoCC.mkDerivation {
            inherit
              name
              url
              rev
              postFetch
              meta
              ;
            sparseCheckout = lib.concatStringsSep "\n" sparseCheckout;
            outputHash = hash;
            outputHashMode = "recursive";
            passthru.gitRepoUrl = url;
          };
      fetchFromGitHub =
        {
          owner,
          repo,
          rev,
          meta ? { },
          ...
        }@args:
        self.fetchgit (
          removeAttrs args [
            "owner"
            "repo"
          ]
          // {
            url = "https://github.com/${owner}/${repo}.git";
            meta = {
              homepage = "https://github.com/${owner}/${repo}";
            }
            // meta;
          }
        )
        // {
          inherit owner repo rev;
          tag = null;
        };

      testers = {
        testVersion =
          { package, ... }:
          self.runCommand "${package.name}-test-version" { nativeBuildInputs = [ package ]; } "";
        hasPkgConfigModules =
          { package, ... }:
          self.runCommand "${package.name}-pkg-config" { nativeBuildInputs = [ package ]; } "";
        runNixOSTest = import ./nixos/lib/run-test.nix { pkgs = self; };
      };

      mesa = leaf "mesa" // {
        llvmpipeHook = leaf "mesa-llvmpipe-hook";
      };
      addDriverRunpath = leaf "add-driver-runpath" // {
        driverLink = "/run/opengl-driver";
      };
      nix-required-mounts = requiredMounts;
      cudaPackages = {
        backendStdenv = makeStdenv "cuda-backend-stdenv";
        cuda_nvcc = cudaLeaf "cuda_nvcc";
        cuda_cudart = cudaLeaf "cuda_cudart";
        cuda_cccl = cudaLeaf "cuda_cccl";
        flags.cmakeCudaArchitecturesString = "75;86";
      };
      # nixpkgs' predicate for CUDA's licences: every licence is free or one of NVIDIA's CUDA ones.
      _cuda.lib.allowUnfreeCudaPredicate =
        attrs:
        lib.all (
          l:
          l.free or true
          || lib.elem l [
            lib.licenses.nvidiaCuda
            lib.licenses.nvidiaCudaRedist
          ]
        ) (licencesOf attrs);
    }
    // lib.genAttrs [
      "autoAddDriverRunpath"
      "bash"
      "cjson"
      "clang-tools"
      "cmake"
      "cmocka"
      "ffmpeg-headless"
      "glfw3"
      "imagemagick"
      "libepoxy"
      "libx11"
      "nixfmt"
      "nixfmt-tree"
      "pkg-config"
      "stb"
      "xdotool"
      "xvfb"
    ] leaf;

  self0 = lib.fix (lib.extends (lib.composeManyExtensions overlays) base);
in
self0
