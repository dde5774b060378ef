#!/bin/sh
# interrupt.sh PHASE NGP_BIN TINY_SNAPSHOT WORK_DIR TINY_CONFIG: a long phase of instant-ngp gets
# SIGINT/SIGTERM and must stop at its next safe point, keep what is complete, say what it did and
# exit 130; a second signal ends it at once, leaving no temporary file (issue 19). PHASE:
#   screenshots       SIGINT while 400 screenshots are written: fewer written, each a whole PNG
#   test_views        SIGTERM while 200 test views are evaluated: stopped, no PSNR claimed
#   training_unsaved  SIGINT while training with no --save-snapshot: says how to keep a model
#   second_signal     two SIGINTs while training with --save-snapshot: no temporary file left
#   mesh              SIGINT while a 1024^3 mesh is extracted: stopped, no mesh and no temporary written
# Exits 0 on success, 1 with the reason on failure, 77 when the machine lacks what the test needs.
set -u
phase=$1
bin=$2
snap=$3
work=$4/interrupt_$1
config=$5
synth=$(dirname "$bin")/ngp-synth
rm -rf "$work"
mkdir -p "$work"
out=$work/stdout
err=$work/stderr
pid=
fail() {
  [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null # never leave the run behind
  echo "FAIL ($phase): $*"
  echo "---- stdout"; cat "$out"
  echo "---- stderr"; cat "$err"
  exit 1
}
# Waits until FILE matches PATTERN (at most 60 s).
wait_for() {
  i=0
  while ! grep -q "$2" "$1" 2>/dev/null; do
    i=$((i + 1))
    [ $i -gt 1200 ] && fail "never printed '$2'"
    kill -0 "$pid" 2>/dev/null || fail "ended before printing '$2'"
    sleep 0.05
  done
}
matrix='[[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 4], [0, 0, 0, 1]]'
scene=$work/scene.json
printf '{"camera_angle_x": 0.69, "frames": [{"file_path": "%s", "transform_matrix": %s}]}\n' \
  "$(dirname "$snap")/../hostile/scene/rgba.png" "$matrix" >"$scene"
[ -f "$(dirname "$snap")/../hostile/scene/rgba.png" ] || { echo "SKIP: the hostile fixture is missing"; exit 77; }

case $phase in
screenshots)
  cams=$work/cams.json
  {
    printf '{"camera_angle_x": 0.69, "w": 256, "h": 256, "frames": ['
    i=0
    while [ $i -lt 400 ]; do
      [ $i -gt 0 ] && printf ', '
      printf '{"file_path": "v_%d", "transform_matrix": %s}' $i "$matrix"
      i=$((i + 1))
    done
    printf ']}\n'
  } >"$cams"
  "$bin" --no-gui --threads 1 --load-snapshot "$snap" --screenshot-transforms "$cams" --screenshot-dir "$work/shots" \
    >"$out" 2>"$err" &
  pid=$!
  wait_for "$out" "screenshot 2/400"
  kill -INT $pid
  wait $pid
  rc=$?
  [ $rc -eq 130 ] || fail "exit $rc, expected 130"
  grep -q "interrupted by SIGINT during the screenshots" "$out" || fail "the interrupt is not said"
  k=$(sed -n 's/^screenshots: stopped after \([0-9]*\) of 400; each file written is complete$/\1/p' "$out")
  [ -n "$k" ] || fail "no 'screenshots: stopped after K of 400' line"
  [ "$k" -lt 400 ] || fail "all 400 were written"
  n=$(ls "$work/shots" | grep -c '^v_[0-9]*\.png$')
  [ "$n" -eq "$k" ] || fail "$n PNG files for $k said written"
  ls -a "$work/shots" | grep -q '\.tmp\.' && fail "a temporary file is left in $work/shots"
  # Every file written is a whole PNG: it ends with the IEND chunk.
  for f in "$work"/shots/*.png; do
    [ "$(tail -c 8 "$f" | od -An -tx1 | tr -d ' \n')" = "49454e44ae426082" ] || fail "$f is not a complete PNG"
  done
  echo "screenshots: stopped after $k of 400 on SIGINT, exit 130, files complete"
  ;;
test_views)
  [ -x "$synth" ] || { echo "SKIP: $synth is not built"; exit 77; }
  "$synth" --out "$work/views" --size 96 --train 1 --test 200 --spp 1 --threads 1 --quiet || fail "ngp-synth failed"
  "$bin" --no-gui --threads 1 --load-snapshot "$snap" --test-transforms "$work/views/transforms_test.json" \
    >"$out" 2>"$err" &
  pid=$!
  wait_for "$out" "snapshot: "
  sleep 0.5
  kill -TERM $pid
  wait $pid
  rc=$?
  [ $rc -eq 130 ] || fail "exit $rc, expected 130"
  grep -q "test views: stopped after [0-9]* of 200 views; no PSNR is printed" "$out" || fail "the stop is not said"
  grep -q "interrupted by SIGTERM during the test views" "$out" || fail "the interrupt is not said"
  grep -q "PSNR=" "$out" && fail "a PSNR was printed for a partial set"
  echo "test views: stopped on SIGTERM, exit 130"
  ;;
training_unsaved)
  "$bin" "$scene" --config "$config" --no-gui --threads 1 --n-steps 100000000 >"$out" 2>"$err" &
  pid=$!
  wait_for "$out" "note: nothing will be saved"
  wait_for "$out" "backend: "
  sleep 1
  kill -INT $pid
  wait $pid
  rc=$?
  [ $rc -eq 130 ] || fail "exit $rc, expected 130"
  grep -q "interrupted by SIGINT after [1-9][0-9]* step" "$out" || fail "the interrupt is not said"
  grep -q "nothing saved: the [0-9]* steps\{0,1\} trained are lost; run with --save-snapshot FILE" "$out" ||
    fail "the loss of the unsaved model is not said"
  echo "training: stopped on SIGINT, exit 130, the unsaved model said"
  ;;
mesh)
  mesh=$work/m.ply
  "$bin" --no-gui --threads 1 --load-snapshot "$snap" --save-mesh "$mesh" --marching-cubes-res 1024 \
    >"$out" 2>"$err" &
  pid=$!
  wait_for "$out" "snapshot: "
  sleep 1
  kill -INT $pid
  wait $pid
  rc=$?
  [ $rc -eq 130 ] || fail "exit $rc, expected 130"
  grep -q "interrupted by SIGINT during the mesh" "$out" || fail "the interrupt is not said"
  [ -e "$mesh" ] && fail "$mesh was written"
  ls -a "$work" | grep -q '\.tmp\.' && fail "a temporary file is left in $work"
  echo "mesh: stopped on SIGINT, exit 130, nothing written"
  ;;
second_signal)
  dest=$work/m.ngp
  "$bin" "$scene" --config "$config" --no-gui --threads 1 --n-steps 100000000 --save-snapshot "$dest" \
    >"$out" 2>"$err" &
  pid=$!
  wait_for "$out" "backend: "
  sleep 1
  kill -INT $pid
  kill -INT $pid
  wait $pid
  rc=$?
  [ $rc -eq 130 ] || fail "exit $rc, expected 130"
  ls -a "$work" | grep -q '^\.m\.ngp\.tmp\.' && fail "a temporary file of $dest is left"
  if [ -e "$dest" ]; then
    "$bin" --no-gui --load-snapshot "$dest" >/dev/null 2>&1 || fail "$dest was left but does not load"
  fi
  grep -q "interrupted again: exiting at once\|interrupted by SIGINT" "$out" "$err" || fail "the interrupt is not said"
  echo "second signal: exit 130, no temporary file, $( [ -e "$dest" ] && echo "a whole snapshot" || echo "no snapshot")"
  ;;
*)
  echo "unknown phase $phase"
  exit 2
  ;;
esac
