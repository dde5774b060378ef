#!/bin/sh
# End to end through COLMAP (CTest label `colmap`): ngp-synth renders its textured scene from
# cameras spread over the upper hemisphere; ngp-colmap2nerf --run_colmap recovers the poses from
# the images alone; check_poses aligns them to the generator's ground truth by a similarity and
# holds the rotation and position errors to bounds. Then the same short training twice, on the
# true poses and on the recovered ones (carried into the true frame by that similarity), judged on
# the same held-out true views: the recovered poses must come within 2 dB. Skipped (77) when
# colmap is not installed.
#
#   e2e.sh NGP_SYNTH NGP_COLMAP2NERF CHECK_POSES INSTANT_NGP WORKDIR
set -eu
synth=$1 c2n=$2 check=$3 ngp=$4 work=$5
if ! command -v colmap > /dev/null 2>&1; then
  echo "SKIP: colmap is not installed (Debian: apt-get install colmap; scripts/deps.sh installs it)"
  exit 77
fi
rm -rf "$work"
mkdir -p "$work"
# 40 views at 256x256: a few minutes of CPU for SIFT and exhaustive matching on 2 cores.
"$synth" --out "$work/scene" --size 256 --train 40 --test 4 --textured --quiet
# ngp-synth's camera is an ideal pinhole with the principal point at the centre: SIMPLE_PINHOLE
# (COLMAP estimates the focal length). With OPENCV's eight parameters the distortion terms trade
# off against the poses on so few small views (a few degrees of error; measured).
if ! "$c2n" --images "$work/scene/train" --run_colmap --colmap_matcher exhaustive \
  --colmap_camera_model SIMPLE_PINHOLE --colmap_db "$work/colmap.db" --text "$work/colmap_text" \
  --out "$work/transforms.json"; then
  echo "--- the end of colmap's log:"
  tail -n 30 "$work/colmap.log" || true
  exit 1
fi
# Bounds: rotations under 1 degree, positions within 1% of the scene's size (2.4 units), at least
# 90% of the views registered.
"$check" "$work/scene/transforms_train.json" "$work/transforms.json" 1 0.01 0.9 "$work/aligned.json"

# The training comparison: small config, few steps, the same seed and threads; PSNR on the 4 true
# test views (both models live in the true frame).
train() {
  "$ngp" --scene "$1" --test-transforms "$work/scene/transforms_test.json" --no-gui --backend cpu \
    --config small.json --n-steps 300 --batch-size 8192 --threads 2 --seed 7 > "$2" 2>&1 || {
    cat "$2"
    exit 1
  }
  sed -n 's/.*PSNR=\([0-9][0-9.]*\).*/\1/p' "$2" | tail -n 1
}
true_psnr=$(train "$work/scene/transforms_train.json" "$work/train-true.log")
rec_psnr=$(train "$work/aligned.json" "$work/train-recovered.log")
echo "training: PSNR $true_psnr dB on the true poses, $rec_psnr dB on the recovered poses"
if ! awk -v a="$true_psnr" -v b="$rec_psnr" 'BEGIN { exit !(a != "" && b != "" && b + 2 >= a) }'; then
  echo "FAIL: the recovered poses train more than 2 dB below the true ones"
  exit 1
fi
