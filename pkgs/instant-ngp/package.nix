# instant-ngp: our C implementation of NVIDIA's instant-ngp NeRF (CMake; optional CUDA backend).
#
# Outputs of this derivation (all MIT, like the code):
#   out      bin/instant-ngp (a small wrapper, see ./default-scene-wrapper.sh: the default scene, and
#            nixpkgs' ffmpeg on PATH for videos), bin/ngp-synth, bin/ngp-colmap2nerf (your photos or
#            video to transforms.json through COLMAP; colmap and ffmpeg on its PATH unless
#            withPhotoTools = false), lib/libngp.so, share/instant-ngp/configs (where bare config
#            names are looked up), docs
#   dev      include/ngp, lib/pkgconfig/ngp.pc
#   configs  nerf/*.json: `nix build .#instant-ngp.configs` gives result-configs/nerf/base.json
#   scenes   nerf/synthetic: a scene that ngp-synth generates during the build; `nix run` with no
#            arguments trains on it
# `out` is the first output, so it is what `nix build`, `nix profile install` and
# environment.systemPackages take by default (meta.outputsToInstall), and `nix run` runs
# out/bin/${meta.mainProgram}. It references `scenes` (the wrapper's default scene), nothing else.
#
# Why `data` is not an output here, and how `nix build .#instant-ngp.data` still works:
# a derivation has one meta.license for all its outputs, and evaluating a derivation forces every
# derivation it takes as input. Had the fox (NVIDIA's non-commercial licence) been copied or
# linked into an output of this derivation, the CPU package itself would be unfree and would not
# even evaluate without allowUnfree. So the fox is its own fixed-output derivation (./fox.nix,
# unfreeRedistributable), and `passthru.data` is the `data` output of a second, tiny derivation
# (./data.nix) that links the fox and our generated scenes side by side and carries both licences.
# Being an output attribute (outputSpecified = true, outputName = "data"), it builds as
# `result-data`: `nix build .#instant-ngp.data` gives result-data/nerf/{fox,synthetic}. Nothing
# here refers to the fox unless `.data` or `.fox` is asked for, so this package stays free.
{
  lib,
  stdenv,
  config,
  callPackage,
  runCommand,
  testers,
  runtimeShell,
  cmake,
  pkg-config,
  cjson,
  stb,
  cmocka,
  glfw3,
  libepoxy,
  libx11,
  xvfb,
  mesa,
  ffmpeg-headless,
  addDriverRunpath,
  autoAddDriverRunpath,
  cudaPackages,
  cudaSupport ? config.cudaSupport,
  # The GLFW/epoxy viewer (NGP_BUILD_VIEWER): a window that trains and renders live. Without a
  # display the program says so and runs headless, so it costs nothing on servers but closure size.
  withViewer ? true,
  # ngp-colmap2nerf runs colmap and ffmpeg: with this, they come with the package (after the
  # user's own on PATH, so a CUDA build of colmap installed by the user wins); without, it uses
  # whatever PATH has and says how to install them when they are missing. The defaults of null
  # keep the expression evaluable in package sets without them (it then leaves them out).
  colmap ? null,
  makeWrapper ? null,
  withPhotoTools ? colmap != null && makeWrapper != null,
}:

let
  # nvcc accepts only some host compilers; backendStdenv has one of them (and keeps the newer
  # libstdc++ at run time).
  effectiveStdenv = if cudaSupport then cudaPackages.backendStdenv else stdenv;
  # CCCL (Thrust, CUB, libcu++) is `cccl` in the newest CUDA package sets, `cuda_cccl` before.
  cccl = cudaPackages.cccl or cudaPackages.cuda_cccl;
  # Tests and the scene generator run programs just built: not when cross-compiling.
  canRunHostPrograms = effectiveStdenv.buildPlatform.canExecute effectiveStdenv.hostPlatform;

  # The CMake options live in one place, CMakePresets.json: this package builds with its
  # package-cpu or package-cuda preset, and CI's presets (ci, asan) inherit those, so the plain
  # CMake build that CI runs is this build. Here, a preset's cacheVariables with those it inherits
  # (CMake's rule: its own first, then its parents' in the order listed).
  presets = (lib.importJSON ../../CMakePresets.json).configurePresets;
  presetVariables =
    name:
    let
      preset = lib.findFirst (
        p: p.name == name
      ) (throw "CMakePresets.json: no configure preset named ${name}") presets;
    in
    lib.foldl' (acc: parent: presetVariables parent // acc) { } (lib.toList (preset.inherits or [ ]))
    // preset.cacheVariables or { };
  onOff = b: if b then "ON" else "OFF";
in
effectiveStdenv.mkDerivation (finalAttrs: {
  pname = "instant-ngp";
  # Keep in step with project(VERSION) in CMakeLists.txt (tests/nix/check-nix.sh compares them,
  # passthru.tests.version checks the binary).
  version = "0.1.0";

  # Only what the CMake build reads: editing Nix files or CI does not rebuild the package, and
  # local build folders never enter the store.
  src = lib.fileset.toSource {
    root = ../..;
    fileset = lib.fileset.unions [
      ../../CMakeLists.txt
      ../../CMakePresets.json
      ../../LICENSE
      ../../README.md
      ../../cmake
      ../../configs
      ../../docs
      ../../src
      (lib.fileset.difference ../../tests ../../tests/nix)
    ];
  };

  outputs = [
    "out"
    "dev"
    "configs"
    "scenes"
  ];

  __structuredAttrs = true;
  strictDeps = true;

  nativeBuildInputs = [
    cmake
    pkg-config
  ]
  ++ lib.optionals withPhotoTools [ makeWrapper ]
  ++ lib.optionals cudaSupport [
    cudaPackages.cuda_nvcc
    # Adds /run/opengl-driver/lib (where NixOS puts libcuda.so) to the RUNPATH of every ELF file,
    # in postFixup. The build links the driver stub from cuda_cudart, never the driver itself.
    autoAddDriverRunpath
  ];

  buildInputs = [
    stb
  ]
  ++ lib.optionals withViewer [
    glfw3
    libepoxy
  ]
  ++ lib.optionals cudaSupport [
    cudaPackages.cuda_cudart
    cccl
  ];

  # ngp.pc says `Requires.private: libcjson`, and pkg-config resolves that module even for shared
  # linking, so whoever uses the dev output needs cjson too.
  propagatedBuildInputs = [ cjson ];

  # libx11: ngp-test-xwindow, the X client with which the viewer_gui_finish_* tests close the
  # window as its close button does (GLFW links libX11 but does not propagate its headers).
  checkInputs = [ cmocka ] ++ lib.optionals withViewer [ libx11 ];
  # The viewer's tests (CTest label `viewer`) open a window on a private Xvfb server rendered by
  # Mesa's llvmpipe: llvmpipeHook points libglvnd at mesa's drivers (no GPU in the sandbox).
  # ffmpeg: the video tests encode H.264 and read it back with ffprobe (skipped without it).
  nativeCheckInputs = [
    ffmpeg-headless
  ]
  ++ lib.optionals withViewer [
    xvfb
    mesa.llvmpipeHook
  ];

  # The preset's options, and over them only what this expression decides: whether tests and the
  # viewer are built (doCheck, withViewer), static or shared, and the CUDA architectures. The real
  # scenes (NGP_TEST_DATA_DIR, default ../shared/data) are absent in the sandbox: the
  # `data`-labelled tests report themselves skipped.
  cmakeFlags =
    lib.mapAttrsToList
      (
        name: value:
        if builtins.isString value then
          "-D${name}=${value}"
        else
          throw "CMakePresets.json: cacheVariables.${name}: write the value as a string"
      )
      (
        presetVariables (if cudaSupport then "package-cuda" else "package-cpu")
        // {
          NGP_BUILD_TESTS = onOff finalAttrs.doCheck;
          NGP_BUILD_VIEWER = onOff withViewer;
          BUILD_SHARED_LIBS = onOff (!effectiveStdenv.hostPlatform.isStatic);
        }
        // lib.optionalAttrs cudaSupport {
          # From nixpkgs' config.cudaCapabilities, e.g. "75;86"; never detected from the build machine.
          CMAKE_CUDA_ARCHITECTURES = cudaPackages.flags.cmakeCudaArchitecturesString;
        }
      );

  doCheck = canRunHostPrograms;
  # Xvfb's GLX vendor is Mesa. libglvnd's libGLX loads libGLX_mesa.so.0 by name, from its RUNPATH
  # (/run/opengl-driver/lib, absent in the sandbox) or LD_LIBRARY_PATH; llvmpipeHook sets up EGL
  # and the DRI drivers, not that. So the viewer's tests point GLX at mesa themselves.
  preCheck = lib.optionalString withViewer ''
    export LD_LIBRARY_PATH="${lib.getLib mesa}/lib''${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    export __GLX_VENDOR_LIBRARY_NAME=mesa
  '';

  # The cmocka, CLI and viewer tests. `gpu` tests need a device, which the sandbox never has: they
  # run in passthru.gpuCheck. `nix` is tests/nix/check-nix.sh, which is not in this source.
  checkPhase = ''
    runHook preCheck
    ctest --output-on-failure -j "$NIX_BUILD_CORES" --label-exclude '^(gpu|nix)$'
    runHook postCheck
  '';

  postInstall = ''
    mkdir -p "$configs" "$scenes/nerf"
    cp -r "$out/share/instant-ngp/configs/nerf" "$configs/nerf"
  ''
  + lib.optionalString canRunHostPrograms ''
    # ngp-synth's defaults: 200x200, 100 training and 20 test views, seed 0 (byte-reproducible).
    "$out/bin/ngp-synth" --out "$scenes/nerf/synthetic" --quiet
  ''
  + ''
    mv "$out/bin/instant-ngp" "$out/bin/.instant-ngp-wrapped"
    substitute ${./default-scene-wrapper.sh} "$out/bin/instant-ngp" \
      --subst-var-by shell ${runtimeShell} \
      --subst-var-by program "$out/bin/.instant-ngp-wrapped" \
      --subst-var-by scene "$scenes/nerf/synthetic" \
      --subst-var-by ffmpeg "${lib.getBin ffmpeg-headless}"
    chmod +x "$out/bin/instant-ngp"
  ''
  + lib.optionalString withPhotoTools ''
    wrapProgram "$out/bin/ngp-colmap2nerf" --suffix PATH : ${
      lib.makeBinPath [
        colmap
        ffmpeg-headless
      ]
    }
  '';

  passthru = {
    # Whether $scenes/nerf/synthetic exists: ngp-synth runs during the build, so not when
    # cross-compiling (the wrapper and ./data.nix then do without it).
    hasSyntheticScene = canRunHostPrograms;

    # NVIDIA's fox scene, unfree (redistributable): see the header and ./fox.nix.
    fox = callPackage ./fox.nix { };

    # result-data/nerf/fox and result-data/nerf/synthetic: see the header and ./data.nix.
    data =
      (callPackage ./data.nix {
        instant-ngp = finalAttrs.finalPackage;
        instant-ngp-fox = finalAttrs.passthru.fox;
      }).data;

    # Needs a builder with an NVIDIA GPU that advertises the `cuda` system feature (NixOS:
    # programs.instant-ngp.gpuBuilder.enable). Rebuilds the package there, runs the `gpu`-labelled
    # tests (a skip counts as a failure here) and a short CUDA training with a PSNR floor.
    gpuCheck = finalAttrs.finalPackage.overrideAttrs (previousAttrs: {
      requiredSystemFeatures = [ "cuda" ];
      # Test programs in the build tree have no driver RUNPATH yet (autoAddDriverRunpath patches
      # the installed files, later): they find libcuda.so through LD_LIBRARY_PATH.
      checkPhase = ''
        runHook preCheck
        export LD_LIBRARY_PATH="${addDriverRunpath.driverLink}/lib''${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
        ctest --output-on-failure --no-tests=error --label-regex '^gpu$' > ctest-gpu.log 2>&1 \
          || { cat ctest-gpu.log; exit 1; }
        cat ctest-gpu.log
        if grep -q 'tests did not run' ctest-gpu.log; then
          echo "gpuCheck: GPU tests were skipped: no usable device in the sandbox." >&2
          echo "---> HINT: the builder needs the driver mounted (programs.nix-required-mounts)." >&2
          exit 1
        fi
        runHook postCheck
      '';
      doInstallCheck = true;
      installCheckPhase = ''
        runHook preInstallCheck
        bash ${./check-training.sh} "$out/bin/instant-ngp" "$scenes/nerf/synthetic" 25 \
          --backend cuda --n-steps 2000
        runHook postInstallCheck
      '';
      meta = previousAttrs.meta // {
        broken = !cudaSupport;
      };
    });

    tests = {
      version = testers.testVersion { package = finalAttrs.finalPackage; };
      pkg-config = testers.hasPkgConfigModules {
        package = finalAttrs.finalPackage;
        versionCheck = true;
      };
      # A short CPU training in the sandbox on the package's own scene, with a PSNR floor. The
      # small config and batch keep it around a minute on two cores (about 23 dB at this size).
      train-cpu =
        runCommand "instant-ngp-train-cpu"
          {
            __structuredAttrs = true;
            strictDeps = true;
          }
          ''
            bash ${./check-training.sh} ${lib.getExe finalAttrs.finalPackage} \
              ${finalAttrs.finalPackage.scenes}/nerf/synthetic 18 \
              --backend cpu --config small.json --n-steps 200 --batch-size 8192
            touch "$out"
          '';
      # NixOS VM tests: the module on a machine without a GPU, CPU training on a generated scene;
      # and X with Mesa's software GL, the viewer on a snapshot, its window checked not blank.
      vm-headless = callPackage ../../tests/nix/headless.nix {
        instant-ngp = finalAttrs.finalPackage;
      };
    }
    # The viewer's VM test needs this very build to have the viewer (finalAttrs.finalPackage has
    # overrideAttrs, not override, so no other variant can be made from here).
    // lib.optionalAttrs withViewer {
      vm-viewer = callPackage ../../tests/nix/viewer.nix {
        instant-ngp = finalAttrs.finalPackage;
      };
    }
    # The CUDA variant's GPU tests, for tools that walk passthru.tests (the flake's checks list
    # what they take by name and leave this out: no CI builder has a GPU).
    // lib.optionalAttrs cudaSupport {
      gpu = finalAttrs.passthru.gpuCheck;
    };
  };

  meta = {
    description = "Instant neural graphics primitives (NeRF) in C, with an optional CUDA backend";
    longDescription = ''
      A C implementation of NVIDIA's instant-ngp: trains a neural radiance field (multiresolution
      hash encoding, small MLPs, occupancy-grid ray marching) from photos with known camera poses
      and renders new views. Reads instant-ngp's scenes (transforms.json) and network configs.
      `instant-ngp` with no arguments trains on a synthetic scene generated during the build.
    '';
    license = lib.licenses.mit;
    mainProgram = "instant-ngp";
    pkgConfigModules = [ "ngp" ];
    # Built and tested on Linux only (other Unixes may work; CUDA needs Linux).
    platforms = lib.platforms.linux;
    maintainers = [ ];
  };
})
