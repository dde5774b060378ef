#!/usr/bin/env bash
# The test command: installs missing packages, builds with warnings as errors (and the CUDA backend
# when nvcc is there), rebuilds with AddressSanitizer + UndefinedBehaviorSanitizer and runs the
# unit and CLI tests there, fuzzes each loader for a minute (scripts/fuzz.sh), runs the GPU
# machine's prepared command as a dry run (scripts/gpu-check.sh --dry-run), then runs every test
# of the first build (GPU tests skip without a device; viewer tests run under Xvfb). Real-scene
# tests read ../shared/data when it exists (NGP_TEST_DATA_DIR overrides).
# Both builds are presets of CMakePresets.json (ci and asan) that inherit the options the Nix
# package builds with (package-cuda and package-cpu): one list, so CI builds what the package does.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
jobs=$(nproc 2>/dev/null || echo 2)
if [ -x /usr/local/cuda/bin/nvcc ]; then export PATH="/usr/local/cuda/bin:$PATH"; fi
data_args=()
if [ -n "${NGP_TEST_DATA_DIR:-}" ]; then data_args=(-DNGP_TEST_DATA_DIR="$NGP_TEST_DATA_DIR"); fi

echo "== build (preset ci: warnings as errors)"
# The CUDA backend builds when nvcc is present (NGP_CUDA=AUTO), for sm_90 (H100) only, to keep CI
# short; the portable default list is what packages use.
cmake --preset ci "${data_args[@]}" >/dev/null
cmake --build build/ci -j"$jobs"
echo "== build (preset asan: ASan + UBSan)"
cmake --preset asan "${data_args[@]}" >/dev/null
cmake --build build/asan -j"$jobs"

echo "== tests under ASan + UBSan"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build/asan -j"$jobs" --output-on-failure -L 'unit|cli'
echo "== fuzz (libFuzzer, FUZZ_SECONDS=${FUZZ_SECONDS:-60} s per loader)"
FUZZ_SECONDS="${FUZZ_SECONDS:-60}" bash scripts/fuzz.sh
echo "== the GPU machine's prepared command, dry run (CPU backend, tiny sizes)"
bash scripts/gpu-check.sh --dry-run --build-dir build/ci --out build/ci/gpu-check
echo "== tests"
ctest --test-dir build/ci -j"$jobs" --output-on-failure
