#!/usr/bin/env bash
# The main job: builds instant-ngp, generates the default synthetic scene and shows what the
# loader makes of it (instant-ngp --info). Training arrives with the engine.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DNGP_BUILD_TESTS=OFF >/dev/null
cmake --build build/release -j"$jobs" >/dev/null
scene=build/scenes/default
build/release/bin/ngp-synth --out "$scene"
build/release/bin/instant-ngp --info --scene "$scene"
