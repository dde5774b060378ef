# A minimal stand-in for a nixpkgs package set, for tests/nix/eval-pure.nix: the packages and
# builders some-pkgs' Nix files take, as inert attribute sets. Two behaviours of the real thing
# matter and are kept: a derivation's outPath forces the outPaths of everything it takes as input,
# and an unfree derivation's outPath throws unless config allows it (check-meta). Outputs behave
# as with lib.extendDerivation (`drv.dev`, outputName, outputSpecified; passthru on top).
{
  system ? "x86_64-linux",
  config ? { },
  overlays ? [ ],
}:

let
  lib = import ./lib.nix;
  fullConfig = {
    cudaSupport = false;
  }
  // config;

  isFree = meta: lib.all (l: l.free or true) (lib.toList (meta.license or [ ]));
  allowed =
    attrs:
    isFree (attrs.meta or { })
    || fullConfig.allowUnfree or false
    || (fullConfig.allowUnfreePredicate or (_: false)) attrs;

  platform = {
    inherit system;
    canExecute = _: true;
    isStatic = false;
  };

  # What a .drv would contain: the arguments, without passthru, meta and functions.
  drvArgsJSON =
    attrs:
    builtins.toJSON (
      removeAttrs attrs [
        "passthru"
        "meta"
      ]
    );

  build =
    stdenvName: attrsFn: attrs:
    let
      name = attrs.name or "${attrs.pname}-${attrs.version}";
      outputs = attrs.outputs or [ "out" ];
      drvPath = builtins.seq (drvArgsJSON attrs) "/nix/store/stub-${name}.drv";
      outPathOf =
        o:
        if allowed (attrs // { inherit name; }) then
          builtins.seq drvPath "/nix/store/stub-${name}${if o == "out" then "" else "-${o}"}"
        else
          throw "stub check-meta: ${name} has an unfree license and is not allowed";
      common =
        attrs
        // {
          inherit
            name
            outputs
            drvPath
            stdenvName
            ;
          type = "derivation";
          meta = attrs.meta or { };
          outPath = outPathOf (builtins.head outputs);
          overrideAttrs =
            f:
            mkDerivationWith stdenvName (
              finalAttrs:
              let
                prev = attrsFn finalAttrs;
              in
              prev // f prev
            );
        }
        // outputAttrs
        // (attrs.passthru or { });
      outputAttrs = builtins.listToAttrs (
        map (o: {
          name = o;
          value = common // {
            outputName = o;
            outputSpecified = true;
            outPath = outPathOf o;
          };
        }) outputs
      );
    in
    common;

  mkDerivationWith =
    stdenvName: fOrAttrs:
    let
      attrsFn = if builtins.isFunction fOrAttrs then fOrAttrs else (_: fOrAttrs);
      attrs = attrsFn (attrs // { finalPackage = pkg; });
      pkg = build stdenvName attrsFn attrs;
    in
    pkg;

  mkStdenv = stdenvName: {
    mkDerivation = mkDerivationWith stdenvName;
    buildPlatform = platform;
    hostPlatform = platform;
  };

  leaf =
    name:
    self.stdenvNoCC.mkDerivation {
      inherit name;
      meta.mainProgram = name;
    };

  callPackageWith =
    scope: path: args:
    let
      f = import path;
      result = f (builtins.intersectAttrs (builtins.functionArgs f) scope // args);
    in
    result
    // {
      override = newArgs: callPackageWith scope path (args // newArgs);
    };

  base = {
    inherit lib system;
    config = fullConfig;
    path = "/stub/nixpkgs";
    stdenv = mkStdenv "stdenv";
    stdenvNoCC = mkStdenv "stdenvNoCC";
    runtimeShell = "/stub/bin/bash";
    runCommand =
      name: env: script:
      self.stdenvNoCC.mkDerivation (env // { inherit name; buildCommand = script; });
    linkFarm =
      name: entries:
      self.stdenvNoCC.mkDerivation {
        inherit name;
        linkPaths = map (e: "${e.name}=${e.path}") entries;
      };
    fetchFromGitHub =
      args:
      self.stdenvNoCC.mkDerivation (
        removeAttrs args [ "hash" ]
        // {
          name = args.name or "source";
          outputHash = args.hash;
          fetcher = "github";
        }
      );
    testers = {
      testVersion = args: self.runCommand "test-version" { inherit (args) package; } "";
      hasPkgConfigModules = args: self.runCommand "test-pkg-config" { inherit (args) package; } "";
      runNixOSTest =
        module:
        self.runCommand "vm-test-${module.name}" { } ""
        // {
          testModule = module;
        };
    };
    mesa = leaf "mesa" // {
      llvmpipeHook = leaf "mesa-llvmpipe-hook";
    };
    addDriverRunpath = leaf "addDriverRunpath" // {
      driverLink = "/run/opengl-driver";
    };
    cudaPackages = {
      backendStdenv = mkStdenv "cudaPackages.backendStdenv";
      cuda_nvcc = leaf "cuda_nvcc";
      cuda_cudart = leaf "cuda_cudart";
      cuda_cccl = leaf "cuda_cccl";
      flags.cmakeCudaArchitecturesString = "75;86";
    };
  }
  // lib.genAttrs [
    "autoAddDriverRunpath"
    "cjson"
    "cmake"
    "cmocka"
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

  withCallPackage =
    pkgs:
    pkgs
    // {
      pkgs = withCallPackage pkgs;
      callPackage = callPackageWith (withCallPackage pkgs);
    };

  # Overlays as nixpkgs applies them: final = prev // overlay final prev, in order.
  self = builtins.foldl' (
    prev: overlay:
    let
      final = withCallPackage (prev // overlay final prev);
    in
    final
  ) (withCallPackage base) overlays;
in
self
