#!/usr/bin/env bash
# The main job: builds instant-ngp, generates the default synthetic scene, trains on it for a
# bounded time on the CPU, saves a snapshot, renders the held-out test views to PNGs and prints
# their PSNR and SSIM (white background). About three minutes on two cores.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DNGP_BUILD_TESTS=OFF >/dev/null
cmake --build build -j"$jobs" >/dev/null
scene=build/scenes/default
out=build/demo
build/bin/ngp-synth --out "$scene"
build/bin/instant-ngp --no-gui --scene "$scene" --train-seconds "${NGP_DEMO_SECONDS:-120}" \
  --save-snapshot "$out/model.ngp" \
  --test-transforms "$scene/transforms_test.json" \
  --screenshot-transforms "$scene/transforms_test.json" --screenshot-dir "$out/renders"
echo "renders of the held-out views: $out/renders/"
