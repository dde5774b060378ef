# Evaluates some-pkgs' Nix files against a stand-in nixpkgs (./stub, assembled by check-nix.sh
# around nixpkgs' real lib) and returns the names of the properties that do not hold: an empty
# list means all hold.
#   nix-instantiate --eval --strict --json tests/nix/eval-pure.nix --arg nixpkgs DIR
# Each property checks something of ours (outputs, flags, licences, what forces what, flake, CI,
# module and VM-test structure); what a stand-in itself does is not restated here.
{
  nixpkgs,
  root ? ../..,
}:

let
  x86 = "x86_64-linux";
  stubPkgs = args: import nixpkgs ({ system = x86; } // args);
  pkgs = stubPkgs { };
  inherit (pkgs) lib;
  succeeds = x: (builtins.tryEval (builtins.deepSeq x x)).success;
  evaluates = drv: succeeds drv.drvPath;
  hasFlag = drv: flag: builtins.elem flag drv.cmakeFlags;
  names = map lib.getName;
  plain = builtins.unsafeDiscardStringContext;
  contains = infix: s: lib.hasInfix (plain infix) (plain s);

  foxAllowed =
    pkg:
    builtins.elem (lib.getName pkg) [
      "instant-ngp-fox"
      "instant-ngp-data"
    ];
  pkgsFox = stubPkgs { config.allowUnfreePredicate = foxAllowed; };
  pkgsCuda = stubPkgs {
    config = {
      cudaSupport = true;
      allowUnfreePredicate = p: pkgsCuda._cuda.lib.allowUnfreeCudaPredicate p;
    };
  };

  nur = import (root + "/default.nix") { inherit pkgs; };
  nurFox = import (root + "/default.nix") { pkgs = pkgsFox; };
  nurCuda = import (root + "/default.nix") { pkgs = pkgsCuda; };
  cpu = nur.instant-ngp;
  cuda = nurCuda.instant-ngp;
  noViewer = cpu.override { withViewer = false; };
  # As when cross-compiling: the build platform cannot run the host's programs.
  cross = nurFox.instant-ngp.override {
    stdenv = pkgsFox.stdenv // {
      buildPlatform = pkgsFox.stdenv.buildPlatform // {
        canExecute = _: false;
      };
    };
  };

  ci = import (root + "/ci/ci.nix") { inherit pkgs; };

  nixpkgsInput = (import (nixpkgs + "/flake.nix")).outputs { self = nixpkgsInput; } // {
    outPath = nixpkgs;
  };
  flake = import (root + "/flake.nix");
  flakeOutputs = flake.outputs {
    # A string, not `root`: ${self} would copy the whole checkout (build folders too) to the store.
    self = flakeOutputs // {
      outPath = "/some-pkgs-source";
    };
    nixpkgs = nixpkgsInput;
  };
  checks = flakeOutputs.checks.${x86};
  # The same flake over a nixpkgs input whose legacyPackages throws: the flake must import nixpkgs
  # once per system, with its own config, and take nothing from a second, default package set.
  flakeOutputsOwnImport = flake.outputs {
    self = flakeOutputsOwnImport // {
      outPath = "/some-pkgs-source";
    };
    nixpkgs = nixpkgsInput // {
      legacyPackages = throw "some-pkgs' flake.nix used nixpkgs.legacyPackages";
    };
  };

  presetNamed =
    name:
    lib.findFirst (p: p.name == name) (throw "no preset ${name}")
      (lib.importJSON (root + "/CMakePresets.json")).configurePresets;
  testScript = builtins.readFile (root + "/scripts/test.sh");
  machineOf = test: test.config.nodes.machine;
  installed = config: lib.any (p: lib.getName p == "instant-ngp") config.environment.systemPackages;

  overlaid = stubPkgs { overlays = [ flakeOutputs.overlays.default ]; };

  properties = {
    # --- instant-ngp (CPU) ---
    "cpu: evaluates to a derivation without any unfree permission" = evaluates cpu;
    "cpu: every output evaluates without unfree permission" = lib.all (
      o: evaluates cpu.${o}
    ) cpu.outputs;
    "cpu: outputs are out dev configs scenes" =
      cpu.outputs == [
        "out"
        "dev"
        "configs"
        "scenes"
      ];
    "cpu: strictDeps and __structuredAttrs" = cpu.strictDeps && cpu.__structuredAttrs;
    "cpu: built with the plain stdenv" = cpu.stdenv.outPath == pkgs.stdenv.outPath;
    "cpu: MIT" = cpu.meta.license == lib.licenses.mit;
    "cpu: mainProgram instant-ngp" = cpu.meta.mainProgram == "instant-ngp";
    "cpu: flags are the package-cpu preset's" =
      cpu.cmakeFlags == [
        "-DBUILD_SHARED_LIBS=ON"
        "-DNGP_BUILD_TESTS=ON"
        "-DNGP_BUILD_VIEWER=ON"
        "-DNGP_CUDA=OFF"
        "-DNGP_WARNINGS_AS_ERRORS=OFF"
      ];
    "cpu: flags follow CMakePresets.json" = lib.all (
      name: lib.any (lib.hasInfix "-D${name}=") cpu.cmakeFlags
    ) (builtins.attrNames (presetNamed "package").cacheVariables);
    "cpu: source holds what CMake reads, not the Nix files" =
      let
        src = cpu.src;
      in
      builtins.pathExists "${src}/CMakeLists.txt"
      && builtins.pathExists "${src}/src"
      && !builtins.pathExists "${src}/tests/nix"
      && !builtins.pathExists "${src}/flake.nix";
    "cpu: tests built and run, gpu and nix excluded" =
      cpu.doCheck
      && hasFlag cpu "-DNGP_BUILD_TESTS=ON"
      && lib.hasInfix "--label-exclude '^(gpu|nix)$'" cpu.checkPhase;
    "cpu: no nvcc" = !builtins.elem "cuda_nvcc" (names cpu.nativeBuildInputs);
    "cpu: viewer on, tested under Xvfb with llvmpipe" =
      hasFlag cpu "-DNGP_BUILD_VIEWER=ON"
      &&
        names cpu.buildInputs == [
          "stb"
          "glfw3"
          "libepoxy"
        ]
      &&
        names cpu.nativeCheckInputs == [
          "ffmpeg-headless"
          "xvfb"
          "mesa-llvmpipe-hook"
        ];
    "cpu: viewer can be left out" = hasFlag noViewer "-DNGP_BUILD_VIEWER=OFF";
    "cpu: cmocka and libx11 only for checks" =
      names cpu.checkInputs == [
        "cmocka"
        "libx11"
      ]
      && !lib.any (n: builtins.elem n (names cpu.buildInputs)) [
        "cmocka"
        "libx11"
      ];
    "cpu: no libx11 without the viewer" = names noViewer.checkInputs == [ "cmocka" ];
    "cpu: cjson propagated (ngp.pc requires it)" = names cpu.propagatedBuildInputs == [ "cjson" ];
    "cpu: .configs is the configs output" =
      cpu.configs.outputName == "configs" && cpu.configs.outPath != cpu.outPath;
    "cpu: wrapper gets the generated scene" =
      lib.hasInfix "--subst-var-by scene \"$scenes/nerf/synthetic\"" cpu.postInstall;
    "cpu: the wrapper puts nixpkgs' ffmpeg on PATH (videos)" =
      lib.hasInfix "--subst-var-by ffmpeg" cpu.postInstall
      && lib.hasInfix "@ffmpeg@/bin" (
        builtins.readFile (root + "/pkgs/instant-ngp/default-scene-wrapper.sh")
      );
    "cpu: configs copied into $configs/nerf" = lib.hasInfix "\"$configs/nerf\"" cpu.postInstall;
    "cpu: version matches CMakeLists.txt" = lib.hasInfix "project(instant-ngp VERSION ${cpu.version} " (
      builtins.readFile (root + "/CMakeLists.txt")
    );
    "cpu: GLX pointed at mesa for the viewer's tests" =
      contains "export __GLX_VENDOR_LIBRARY_NAME=mesa" cpu.preCheck
      && contains "${lib.getLib pkgs.mesa}/lib" cpu.preCheck
      && noViewer.preCheck == "";
    "cpu: passthru.tests are the four sandbox tests and both VM tests, no GPU check" =
      builtins.attrNames cpu.tests == [
        "pkg-config"
        "train-cpu"
        "version"
        "vm-headless"
        "vm-viewer"
      ];
    "cpu: every passthru test evaluates" = lib.all evaluates (builtins.attrValues cpu.tests);
    "cpu: without the viewer, no viewer VM test" = !(noViewer.tests ? vm-viewer);

    # --- CMakePresets.json: CI's builds inherit the package's options ---
    "presets: ci inherits the package's options" = (presetNamed "ci").inherits == "package";
    "presets: asan inherits the CPU package's" = (presetNamed "asan").inherits == "package-cpu";
    "presets: the package never leaves CUDA to AUTO" =
      (presetNamed "package-cpu").cacheVariables.NGP_CUDA == "OFF"
      && (presetNamed "package-cuda").cacheVariables.NGP_CUDA == "ON";
    "presets: scripts/test.sh builds with ci and asan" =
      lib.hasInfix "cmake --preset ci " testScript && lib.hasInfix "cmake --preset asan " testScript;

    # --- the fox and the data output ---
    "fox: unfree, refused without permission" =
      !cpu.fox.meta.license.free && !evaluates cpu.fox && !evaluates cpu.data;
    "fox: pinned commit, only its folder" =
      cpu.fox.rev == "abe236ee00cf90cfca6e36e65c00435d5b21f50a"
      && cpu.fox.sparseCheckout == "data/nerf/fox";
    "fox: named instant-ngp-fox, allowed by the fox predicate" =
      nurFox.instant-ngp.fox.name == "instant-ngp-fox" && evaluates nurFox.instant-ngp.fox;
    "data: .data is the data output, allowed with the fox predicate" =
      nurFox.instant-ngp.data.outputName == "data"
      && nurFox.instant-ngp.data.outputSpecified
      && evaluates nurFox.instant-ngp.data;
    "data: licences include the unfree one" = lib.any (l: !l.free) cpu.data.meta.license;
    "data: links fox and synthetic" =
      lib.hasInfix "$data/nerf/fox" nurFox.instant-ngp.data.installPhase
      && lib.hasInfix "$data/nerf/synthetic" nurFox.instant-ngp.data.installPhase;
    # Cross-compiled: ngp-synth cannot run, so no scene, no tests, and no link to a missing folder.
    "cross: no generated scene, no tests, data links the fox only" =
      !cross.hasSyntheticScene
      && !cross.doCheck
      && !lib.hasInfix "ngp-synth" cross.postInstall
      && lib.hasInfix "$data/nerf/fox" cross.data.installPhase
      && !lib.hasInfix "nerf/synthetic" cross.data.installPhase;

    # --- NUR: default.nix on a nixpkgs that allows nothing unfree ---
    "nur: every top-level derivation evaluates without unfree permission" = lib.all (
      p: !lib.isDerivation p || evaluates p
    ) (builtins.attrValues nur);

    # --- CUDA variant ---
    "cuda: evaluates with CUDA's licences allowed" = evaluates cuda;
    "cuda: backendStdenv" = cuda.stdenv.outPath == pkgsCuda.cudaPackages.backendStdenv.outPath;
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
    "cuda: still MIT" = cuda.meta.license == lib.licenses.mit;
    "gpuCheck: evaluates, requires the cuda feature, is passthru.tests.gpu" =
      evaluates cuda.gpuCheck
      && cuda.gpuCheck.requiredSystemFeatures == [ "cuda" ]
      && cuda.tests.gpu.drvPath == cuda.gpuCheck.drvPath;
    "gpuCheck: runs gpu tests and training" =
      lib.hasInfix "--label-regex '^gpu$'" cuda.gpuCheck.checkPhase
      && cuda.gpuCheck.doInstallCheck
      && lib.hasInfix "check-training.sh" cuda.gpuCheck.installCheckPhase;
    "gpuCheck: build-tree tests find the driver" =
      lib.hasInfix "LD_LIBRARY_PATH=\"/run/opengl-driver/lib" cuda.gpuCheck.checkPhase;
    "gpuCheck: broken, so refused, without cudaSupport" =
      cpu.gpuCheck.meta.broken && !evaluates cpu.gpuCheck && !cuda.gpuCheck.meta.broken;
    "cpu: Linux only: refused on Darwin" =
      !evaluates
        (import (root + "/default.nix") { pkgs = stubPkgs { system = "aarch64-darwin"; }; }).instant-ngp;

    # --- the VM tests, their nodes evaluated by the module system ---
    "vm-headless: evaluates, its machine has the package" =
      evaluates cpu.tests.vm-headless
      && installed (machineOf cpu.tests.vm-headless)
      && (machineOf cpu.tests.vm-headless).hardware.graphics.enable;
    "vm-viewer: evaluates, its machine has a build with the viewer and X" =
      evaluates cpu.tests.vm-viewer
      && hasFlag (machineOf cpu.tests.vm-viewer).programs.instant-ngp.package "-DNGP_BUILD_VIEWER=ON"
      && (machineOf cpu.tests.vm-viewer).services.xserver.enable;

    # --- ci/ci.nix ---
    "ci: the set is instant-ngp's four outputs" =
      map (o: o.outputName) ci.buildOutputs == [
        "out"
        "dev"
        "configs"
        "scenes"
      ];
    "ci: link farm evaluates" = evaluates ci.buildOutputsLinkFarm;

    # --- flake.nix ---
    "flake: nixpkgs is the only input" = builtins.attrNames flake.inputs == [ "nixpkgs" ];
    "flake: packages" =
      builtins.attrNames flakeOutputs.packages.${x86} == [
        "default"
        "instant-ngp"
      ];
    "flake: the data builds, as the flake's nixpkgs allows the fox" =
      evaluates
        flakeOutputs.packages.${x86}.instant-ngp.data;
    "flake: pkgsCuda.instant-ngp is the CUDA build and evaluates" =
      hasFlag flakeOutputs.legacyPackages.${x86}.pkgsCuda.instant-ngp "-DNGP_CUDA=ON"
      && evaluates flakeOutputs.legacyPackages.${x86}.pkgsCuda.instant-ngp;
    "flake: takes nothing from nixpkgs.legacyPackages (one import per system, CUDA's too)" =
      evaluates flakeOutputsOwnImport.legacyPackages.${x86}.pkgsCuda.instant-ngp
      && evaluates flakeOutputsOwnImport.packages.${x86}.instant-ngp.data;
    "flake: checks" =
      builtins.attrNames checks == [
        "clang-format"
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
      !lib.any (c: lib.elem "cuda" (c.requiredSystemFeatures or [ ])) (builtins.attrValues checks);
    "flake: systems" =
      builtins.attrNames flakeOutputs.packages == [
        "aarch64-linux"
        "x86_64-linux"
      ];
    "flake: nixosModules.default imports the module" =
      flakeOutputs.nixosModules.default.imports == [ (root + "/modules/instant-ngp.nix") ];
    "flake: the VM tests in checks and legacyPackages are the package's" =
      checks.vm-viewer.drvPath == cpu.tests.vm-viewer.drvPath
      && checks.vm-headless.drvPath == cpu.tests.vm-headless.drvPath
      && flakeOutputs.legacyPackages.${x86}.tests.vm-viewer.drvPath == cpu.tests.vm-viewer.drvPath;
    "flake: module-eval evaluates and every module property holds" =
      evaluates checks.module-eval && checks.module-eval.failed == [ ];
    "flake: formatting check is strictDeps with structured attrs, on every .nix file" =
      checks.formatting.strictDeps
      && checks.formatting.__structuredAttrs
      && lib.hasInfix "nixfmt --check" checks.formatting.buildCommand;
    "flake: clang-format check runs the format test's script with nixpkgs' clang-format" =
      let
        check = checks.clang-format;
        src = check.src;
      in
      names check.nativeBuildInputs == [ "clang-tools" ]
      && contains "${src}/tests/arch/check_format.sh ${src}" check.buildCommand
      && check.strictDeps
      && check.__structuredAttrs
      && evaluates check;
    "flake: the clang-format check's source is .clang-format, src and tests only" =
      let
        src = checks.clang-format.src;
      in
      builtins.pathExists "${src}/.clang-format"
      && builtins.pathExists "${src}/src/nerf/trainer.c"
      && builtins.pathExists "${src}/tests/arch/check_format.sh"
      && !builtins.pathExists "${src}/flake.nix"
      && !builtins.pathExists "${src}/CMakeLists.txt";
    "overlay: adds instant-ngp, not the special attributes" =
      overlaid ? instant-ngp && !(overlaid ? nixosModules) && !(overlaid ? overlays);
    "overlay: built against the final package set" =
      overlaid.instant-ngp.stdenv.outPath == overlaid.stdenv.outPath && evaluates overlaid.instant-ngp;
  };
  # A property that throws (an unfree refusal, an option used but not defined) does not hold.
  holds =
    name:
    let
      r = builtins.tryEval properties.${name};
    in
    r.success && r.value;
  # module-eval's own list, by name, when it evaluates.
  moduleFailed =
    let
      r = builtins.tryEval (builtins.deepSeq checks.module-eval.failed checks.module-eval.failed);
    in
    if r.success then map (name: "module-eval: ${name}") r.value else [ ];
in
builtins.filter (name: !holds name) (builtins.attrNames properties) ++ moduleFailed
