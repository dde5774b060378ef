# Evaluates some-pkgs' Nix files against the stand-ins in ./stub (no nixpkgs needed) and returns
# the names of the properties that do not hold: an empty list means all hold. Run by
# check-nix.sh:  nix-instantiate --eval --strict --json tests/nix/eval-pure.nix
# This checks the Nix logic (outputs, flags, licences, what forces what, flake and CI structure),
# not nixpkgs itself: names such as cudaPackages.flags are only as right as the stand-ins.
let
  lib = import ./stub/lib.nix;
  root = ../..;
  stubPkgs = args: import ./stub args;
  succeeds = x: (builtins.tryEval (builtins.deepSeq x x)).success;
  hasFlag = drv: flag: builtins.elem flag drv.cmakeFlags;
  names = map (x: x.name);

  pkgs = stubPkgs { };
  pkgsFox = stubPkgs {
    config.allowUnfreePredicate =
      pkg:
      builtins.elem (lib.getName pkg) [
        "instant-ngp-fox"
        "instant-ngp-data"
      ];
  };
  pkgsCuda = stubPkgs { config.cudaSupport = true; };

  nur = import (root + "/default.nix") { inherit pkgs; };
  nurFox = import (root + "/default.nix") { pkgs = pkgsFox; };
  nurCuda = import (root + "/default.nix") { pkgs = pkgsCuda; };
  cpu = nur.instant-ngp;
  cuda = nurCuda.instant-ngp;
  # As when cross-compiling: the build platform cannot run the host's programs.
  cross = nurFox.instant-ngp.override {
    stdenv = pkgsFox.stdenv // {
      buildPlatform = pkgsFox.stdenv.buildPlatform // {
        canExecute = _: false;
      };
    };
  };
  crossData = cross.data;

  ci = import (root + "/ci/ci.nix") { inherit pkgs; };
  ciFox = import (root + "/ci/ci.nix") { pkgs = pkgsFox; };

  flake = import (root + "/flake.nix");
  flakeOutputs = flake.outputs {
    self = flakeOutputs // {
      outPath = "/stub/self";
    };
    nixpkgs = {
      inherit lib;
      outPath = ./stub;
    };
  };
  x86 = "x86_64-linux";
  presetNamed =
    name:
    builtins.head (
      builtins.filter (p: p.name == name)
        (builtins.fromJSON (builtins.readFile (root + "/CMakePresets.json"))).configurePresets
    );
  testScript = builtins.readFile (root + "/scripts/test.sh");
  vmMachine = cpu.tests.vm-headless.testModule.nodes.machine;

  overlaid = stubPkgs { overlays = [ flakeOutputs.overlays.default ]; };

  checks = {
    # --- instant-ngp (CPU) ---
    "cpu: outputs are out dev configs scenes" = cpu.outputs == [
      "out"
      "dev"
      "configs"
      "scenes"
    ];
    "cpu: strictDeps and __structuredAttrs" = cpu.strictDeps && cpu.__structuredAttrs;
    "cpu: plain stdenv" = cpu.stdenvName == "stdenv";
    "cpu: MIT, free" = cpu.meta.license.free && cpu.meta.license.shortName == "MIT";
    "cpu: mainProgram instant-ngp" = cpu.meta.mainProgram == "instant-ngp";
    "cpu: flags are the package-cpu preset's" =
      cpu.cmakeFlags == [
        "-DBUILD_SHARED_LIBS=ON"
        "-DNGP_BUILD_TESTS=ON"
        "-DNGP_BUILD_VIEWER=ON"
        "-DNGP_CUDA=OFF"
        "-DNGP_WARNINGS_AS_ERRORS=OFF"
      ];
    "cpu: flags follow CMakePresets.json" =
      lib.all (name: lib.any (lib.hasInfix "-D${name}=") cpu.cmakeFlags) (
        builtins.attrNames (presetNamed "package").cacheVariables
      );
    "cpu: no CUDA architectures" = !lib.any (lib.hasInfix "CUDA_ARCH") cpu.cmakeFlags;
    "cpu: tests built and run" = cpu.doCheck && hasFlag cpu "-DNGP_BUILD_TESTS=ON";
    "cpu: ctest excludes gpu" = lib.hasInfix "--label-exclude '^(gpu|nix)$'" cpu.checkPhase;
    "cpu: no nvcc" = !builtins.elem "cuda_nvcc" (names cpu.nativeBuildInputs);
    "cpu: viewer on, tested under Xvfb with llvmpipe" =
      hasFlag cpu "-DNGP_BUILD_VIEWER=ON"
      && names cpu.buildInputs == [ "stb" "glfw3" "libepoxy" ]
      && names cpu.nativeCheckInputs == [ "xvfb" "mesa-llvmpipe-hook" ];
    "cpu: viewer can be left out" =
      hasFlag (cpu.override { withViewer = false; }) "-DNGP_BUILD_VIEWER=OFF";
    "cpu: cmocka and libx11 only for checks" =
      names cpu.checkInputs == [ "cmocka" "libx11" ]
      && !lib.any (n: builtins.elem n (names cpu.buildInputs)) [ "cmocka" "libx11" ];
    "cpu: no libx11 without the viewer" =
      names (cpu.override { withViewer = false; }).checkInputs == [ "cmocka" ];
    "cpu: cjson propagated (ngp.pc requires it)" = names cpu.propagatedBuildInputs == [ "cjson" ];
    "cpu: evaluates without any unfree permission" = succeeds cpu.outPath;
    "cpu: every output evaluates without unfree permission" = succeeds (
      map (o: cpu.${o}.outPath) cpu.outputs
    );
    "cpu: .configs is the configs output" = cpu.configs.outputName == "configs";
    "cpu: wrapper gets the generated scene" =
      lib.hasInfix "--subst-var-by scene \"$scenes/nerf/synthetic\"" cpu.postInstall;
    "cpu: configs copied into $configs/nerf" = lib.hasInfix "\"$configs/nerf\"" cpu.postInstall;
    "cpu: version matches CMakeLists.txt" =
      lib.hasInfix "project(instant-ngp VERSION ${cpu.version} " (
        builtins.readFile (root + "/CMakeLists.txt")
      );

    # --- CMakePresets.json: CI's builds inherit the package's options ---
    "presets: ci inherits the package's options" = (presetNamed "ci").inherits == "package";
    "presets: asan inherits the CPU package's" = (presetNamed "asan").inherits == "package-cpu";
    "presets: the package never leaves CUDA to AUTO" =
      (presetNamed "package-cpu").cacheVariables.NGP_CUDA == "OFF"
      && (presetNamed "package-cuda").cacheVariables.NGP_CUDA == "ON";
    "presets: scripts/test.sh builds with ci and asan" =
      lib.hasInfix "cmake --preset ci " testScript && lib.hasInfix "cmake --preset asan " testScript;

    # --- the fox and the data output ---
    "fox: unfree" = !nur.instant-ngp-fox.meta.license.free;
    "fox: refused without permission" = !succeeds nur.instant-ngp-fox.outPath;
    "fox: pinned commit, sparse" =
      nur.instant-ngp-fox.rev == "abe236ee00cf90cfca6e36e65c00435d5b21f50a"
      && nur.instant-ngp-fox.sparseCheckout == [ "data/nerf/fox" ];
    "data: .data is a data output" =
      cpu.data.outputName == "data" && cpu.data.outputSpecified;
    "data: licences include the unfree one" = lib.any (l: !l.free) cpu.data.meta.license;
    "data: refused without permission" = !succeeds cpu.data.outPath;
    "data: allowed with the fox predicate" = succeeds nurFox.instant-ngp.data.outPath;
    "data: links fox and synthetic" =
      lib.hasInfix "$data/nerf/fox" nurFox.instant-ngp.data.installPhase
      && lib.hasInfix "$data/nerf/synthetic" nurFox.instant-ngp.data.installPhase;
    # Cross-compiled: ngp-synth cannot run, so no scene, no tests, and no link to a missing folder.
    "cross: no generated scene, no tests, data links the fox only" =
      !cross.hasSyntheticScene
      && !cross.doCheck
      && !lib.hasInfix "ngp-synth" cross.postInstall
      && lib.hasInfix "$data/nerf/fox" crossData.installPhase
      && !lib.hasInfix "nerf/synthetic" crossData.installPhase;
    "cpu: GLX pointed at mesa for the viewer's tests" =
      lib.hasInfix "export __GLX_VENDOR_LIBRARY_NAME=mesa" cpu.preCheck
      && lib.hasInfix "stub-mesa/lib" cpu.preCheck
      && (cpu.override { withViewer = false; }).preCheck == "";
    "cpu: passthru.tests has both VM tests and no GPU check" =
      builtins.attrNames cpu.tests == [
        "pkg-config"
        "train-cpu"
        "version"
        "vm-headless"
        "vm-viewer"
      ];
    "cuda: passthru.tests.gpu is gpuCheck" =
      cuda.tests.gpu.requiredSystemFeatures == [ "cuda" ];

    # --- CUDA variant ---
    "cuda: backendStdenv" = cuda.stdenvName == "cudaPackages.backendStdenv";
    "cuda: flags are the package-cuda preset's, with nixpkgs' architectures" =
      cuda.cmakeFlags == [
        "-DBUILD_SHARED_LIBS=ON"
        "-DCMAKE_CUDA_ARCHITECTURES=75;86"
        "-DNGP_BUILD_TESTS=ON"
        "-DNGP_BUILD_VIEWER=ON"
        "-DNGP_CUDA=ON"
        "-DNGP_WARNINGS_AS_ERRORS=OFF"
      ];
    "cuda: nvcc and autoAddDriverRunpath native" =
      builtins.elem "cuda_nvcc" (names cuda.nativeBuildInputs)
      && builtins.elem "autoAddDriverRunpath" (names cuda.nativeBuildInputs);
    "cuda: cudart and cccl (fallback cuda_cccl)" =
      builtins.elem "cuda_cudart" (names cuda.buildInputs)
      && builtins.elem "cuda_cccl" (names cuda.buildInputs);
    "cuda: still MIT" = cuda.meta.license.free;
    "gpuCheck: requires the cuda feature" = cuda.gpuCheck.requiredSystemFeatures == [ "cuda" ];
    "gpuCheck: runs gpu tests and training" =
      lib.hasInfix "--label-regex '^gpu$'" cuda.gpuCheck.checkPhase
      && cuda.gpuCheck.doInstallCheck
      && lib.hasInfix "check-training.sh" cuda.gpuCheck.installCheckPhase;
    "gpuCheck: build-tree tests find the driver" =
      lib.hasInfix "LD_LIBRARY_PATH=\"/run/opengl-driver/lib" cuda.gpuCheck.checkPhase;
    "gpuCheck: broken without cudaSupport" = cpu.gpuCheck.meta.broken && !cuda.gpuCheck.meta.broken;

    # --- tests ---
    "vm-headless: imports the module" = builtins.all builtins.pathExists vmMachine.imports;
    "vm-headless: module enabled" = vmMachine.programs.instant-ngp.enable;

    # --- ci/ci.nix ---
    "ci: free set is instant-ngp's four outputs" =
      map (o: o.outputName) ci.buildOutputs == [
        "out"
        "dev"
        "configs"
        "scenes"
      ];
    "ci: with the fox allowed, data and fox too" = builtins.length ciFox.buildOutputs == 7;
    "ci: link farm evaluates" = succeeds ciFox.buildOutputsLinkFarm.outPath;

    # --- flake.nix ---
    "flake: nixpkgs is the only input" = builtins.attrNames flake.inputs == [ "nixpkgs" ];
    "flake: outputs take self and nixpkgs" =
      builtins.attrNames (builtins.functionArgs flake.outputs) == [
        "nixpkgs"
        "self"
      ];
    "flake: packages" =
      builtins.attrNames flakeOutputs.packages.${x86} == [
        "default"
        "instant-ngp"
        "instant-ngp-data"
        "instant-ngp-fox"
      ];
    "flake: the data builds as flake pkgs allow the fox" =
      succeeds flakeOutputs.packages.${x86}.instant-ngp.data.outPath;
    "flake: pkgsCuda.instant-ngp is the CUDA build" =
      hasFlag flakeOutputs.legacyPackages.${x86}.pkgsCuda.instant-ngp "-DNGP_CUDA=ON";
    "flake: checks" =
      builtins.attrNames flakeOutputs.checks.${x86} == [
        "formatting"
        "instant-ngp"
        "instant-ngp-pkg-config"
        "instant-ngp-train-cpu"
        "instant-ngp-version"
        "module-eval"
        "vm-headless"
        "vm-viewer"
      ];
    "flake: no GPU check in checks" =
      !lib.any (c: c ? requiredSystemFeatures) (builtins.attrValues flakeOutputs.checks.${x86});
    "flake: systems" =
      builtins.attrNames flakeOutputs.packages == [
        "aarch64-linux"
        "x86_64-linux"
      ];
    "flake: nixosModules.default imports the module" =
      flakeOutputs.nixosModules.default.imports == [ (root + "/modules/instant-ngp.nix") ];
    "flake: both VM tests in checks and legacyPackages" =
      flakeOutputs.checks.${x86}.vm-viewer.testModule.name == "instant-ngp-viewer"
      && flakeOutputs.checks.${x86}.vm-headless == cpu.tests.vm-headless
      && flakeOutputs.legacyPackages.${x86}.tests.vm-viewer.testModule.name == "instant-ngp-viewer";
    "flake: formatting check is strictDeps with structured attrs" =
      flakeOutputs.checks.${x86}.formatting.strictDeps
      && flakeOutputs.checks.${x86}.formatting.__structuredAttrs;
    "overlay: adds instant-ngp, not the special attributes" =
      overlaid ? instant-ngp
      && overlaid ? instant-ngp-fox
      && !(overlaid ? nixosModules)
      && !(overlaid ? overlays);
    "overlay: built against the final package set" = overlaid.instant-ngp.stdenvName == "stdenv";
  };
in
builtins.filter (name: !checks.${name}) (builtins.attrNames checks)
