#!/usr/bin/env bash
# check-training.sh PROGRAM SCENE_DIR PSNR_FLOOR [INSTANT-NGP OPTIONS...]
# Trains instant-ngp on SCENE_DIR with the given options (backend, steps, config), holding out
# SCENE_DIR/transforms_test.json, and fails unless the mean test PSNR it prints
# (`PSNR=<mean> [min max] SSIM=...`) reaches PSNR_FLOOR dB. The floors the Nix checks pass are set
# well below what the engine reaches: they catch a broken package, not a regression of the method
# (the engine's own end-to-end test pins that).
set -euo pipefail
program=$1 scene=$2 floor=$3
shift 3
log=$(mktemp)
status=0
"$program" --scene "$scene" --test-transforms "$scene/transforms_test.json" --no-gui "$@" \
  >"$log" 2>&1 || status=$?
cat "$log"
if [ "$status" -ne 0 ]; then
  echo "check-training: instant-ngp exited with status $status" >&2
  exit 1
fi
psnr=$(sed -n 's/.*PSNR=\([0-9][0-9.]*\).*/\1/p' "$log" | tail -n 1)
if [ -z "$psnr" ]; then
  echo "check-training: instant-ngp printed no PSNR" >&2
  exit 1
fi
if ! awk -v p="$psnr" -v f="$floor" 'BEGIN { exit !(p + 0 >= f + 0) }'; then
  echo "check-training: PSNR $psnr dB is below the floor of $floor dB" >&2
  exit 1
fi
echo "check-training: PSNR $psnr dB >= $floor dB"
