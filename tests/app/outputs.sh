#!/bin/bash
# outputs.sh: what a trained model makes, checked from the files by check_outputs.py (Python's
# standard library only): the test PSNR in the literature's convention computed independently,
# the metrics file, image formats by name (.jpg gets JPEG, .jpeg too, no extension gets PNG,
# .exr and unknown names refused before any render), depth as 16-bit PNG and PFM, the training
# log as CSV and JSON Lines, and ngp-bench's SVG curve.
#   outputs.sh INSTANT_NGP NGP_BENCH SCENE MODEL WORK
set -u
NGP=$1 BENCH=$2 SCENE=$3 MODEL=$4 W=$5
HERE=$(cd "$(dirname "$0")" && pwd)
command -v python3 >/dev/null || { echo "SKIP: python3 is not installed"; exit 77; }
CHECK="python3 $HERE/check_outputs.py"
rm -rf "$W" && mkdir -p "$W"
fail() { echo "FAIL: $*"; exit 1; }

# 1. Test PSNR: over a coloured background, so that alpha compositing matters.
"$NGP" "$MODEL" --threads 2 --test-transforms "$SCENE/transforms_test.json" --metrics-json "$W/metrics.json" \
  --screenshot-transforms "$SCENE/transforms_test.json" --screenshot-dir "$W/shots" --background 0.2,0.4,0.6 \
  >"$W/psnr.out" 2>"$W/psnr.err" || fail "evaluation run: $(cat "$W/psnr.err")"
$CHECK psnr "$SCENE/transforms_test.json" "$W/shots" "$W/metrics.json" 0.2,0.4,0.6 "$W/psnr.out" || exit 1

# 2. Formats by name: camera files whose file_path ends in .jpg, .jpeg, .pfm, nothing; then .exr, .webp.
cams() { # cams OUT.json NAME...: the first test camera under each name
  python3 - "$SCENE/transforms_test.json" "$@" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))
f0 = t["frames"][0]
t["frames"] = [dict(f0, file_path=n) for n in sys.argv[3:]]
json.dump(t, open(sys.argv[2], "w"))
PY
}
cams "$W/names.json" fox_0001.jpg b.jpeg c.pfm noext
"$NGP" "$MODEL" --threads 2 --screenshot-transforms "$W/names.json" --screenshot-dir "$W/named" --width 24 --height 16 \
  >"$W/named.out" 2>&1 || fail "screenshots by name: $(cat "$W/named.out")"
$CHECK magic "$W/named/fox_0001.jpg" jpeg && $CHECK magic "$W/named/b.jpeg" jpeg && \
  $CHECK magic "$W/named/c.pfm" pfm3 && $CHECK magic "$W/named/noext.png" png || exit 1
for bad in x.exr y.webp; do
  cams "$W/bad.json" ok.png "$bad"
  "$NGP" "$MODEL" --threads 2 --screenshot-transforms "$W/bad.json" --screenshot-dir "$W/bad_$bad" --width 8 --height 8 \
    >"$W/bad.out" 2>&1 && fail "$bad was accepted"
  grep -q "error: .*$bad: .*\.pfm" "$W/bad.out" || fail "$bad: unclear message: $(cat "$W/bad.out")"
  [ -e "$W/bad_$bad/ok.png" ] && fail "$bad: a screenshot was rendered before the bad name was refused"
done
echo "formats: ok: .exr and .webp refused before rendering"

# 3. Depth: a .jpg name becomes a 16-bit PNG (JPEG has 8 bits) with the floats beside it.
"$NGP" "$MODEL" --threads 2 --screenshot-transforms "$W/names.json" --screenshot-frames 0,3 --render-mode depth \
  --screenshot-dir "$W/depth" --width 24 --height 16 >"$W/depth.out" 2>&1 || fail "depth: $(cat "$W/depth.out")"
grep -q "screenshot 2/2: .*noext.png and .*noext.pfm (24x16, depth, 16-bit, 1 = 0.001 scene units" "$W/depth.out" ||
  fail "depth line: $(cat "$W/depth.out")"
$CHECK magic "$W/depth/fox_0001.png" png16 && $CHECK magic "$W/depth/fox_0001.pfm" pfm1 || exit 1
[ -e "$W/depth/b.png" ] && fail "--screenshot-frames 0,3 rendered frame 1"

# 4. The training log, both formats; 5. the curve's SVG.
for ext in csv jsonl; do
  "$NGP" "$SCENE" --threads 2 --n-steps 3 --batch-size 4096 --log "$W/log/train.$ext" >"$W/log.out" 2>&1 ||
    fail "log: $(cat "$W/log.out")"
  [ -e "$W/log/train.$ext.tmp" ] && fail "the log's temporary file was left"
  $CHECK log "$W/log/train.$ext" || exit 1
done
"$BENCH" curve --scene "$SCENE" --val "$SCENE/transforms_test.json" --threads 2 --batch-size 4096 \
  --minutes 0.001,0.002 --plot "$W/curve.svg" >"$W/curve.out" 2>&1 || fail "curve: $(cat "$W/curve.out")"
$CHECK svg "$W/curve.svg" 2 || exit 1
echo "outputs: ok"
