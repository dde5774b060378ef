#!/bin/sh
# gui_finish.sh close|sigint INSTANT_NGP XWINDOW SCENE DIR: instant-ngp in a window (run under
# xvfb-run.sh, which sets DISPLAY), as a user runs it: a scene with --test-transforms,
# --screenshot-transforms and --save-snapshot. Once the title shows a few training steps, either
# the window is closed as its close button does (close), or the process gets SIGINT (sigint). Then
# the exit code, what was printed and the files written are checked:
#   close:  exit 0; training's progress line on stderr (the headless format: step 3, time left 0);
#           the headless summary "trained 3 steps in ..." first, then the snapshot saved once,
#           after training stopped (step 3); "test views: 4" and "PSNR=... SSIM=..."; one
#           screenshot per test view, each file present;
#   sigint: exit 130; the summary, then "interrupted by SIGINT"; the snapshot saved; no
#           evaluation, no screenshots.
# XWINDOW is ngp-test-xwindow (xwindow.c). Prints FAIL lines and exits 1 on any mismatch.
set -u
mode=$1 bin=$2 xwin=$3 scene=$4 dir=$5
case $mode in
close) steps=3 ;;
sigint) steps=100000 ;;
*) echo "usage: $0 close|sigint INSTANT_NGP XWINDOW SCENE DIR" >&2; exit 2 ;;
esac
rm -rf "$dir"
mkdir -p "$dir" || exit 1
test="$scene/transforms_test.json"
"$bin" --gui "$scene" --n-steps $steps --batch-size 4096 --threads 2 --width 64 --height 48 \
  --test-transforms "$test" --screenshot-transforms "$test" --screenshot-dir "$dir/shots" \
  --save-snapshot "$dir/model.ngp" >"$dir/out" 2>"$dir/err" &
pid=$!

failed=0
fail() {
  echo "FAIL: $*"
  failed=1
}
if [ "$mode" = close ]; then
  "$xwin" --step 3 --close --pid $pid --timeout 400 || fail "the window did not reach step 3"
else
  "$xwin" --step 1 --pid $pid --timeout 400 || fail "the window did not reach step 1"
  kill -INT $pid
fi
wait $pid
rc=$?
echo "---- exit code: $rc"
echo "---- stdout:"
cat "$dir/out"
echo "---- stderr:"
cat "$dir/err"
echo "----"

if grep -Eq 'Sanitizer|runtime error:' "$dir/err"; then fail "a sanitizer report is on stderr"; fi
saved=$(grep -c "^snapshot saved: $dir/model.ngp " "$dir/out")
[ -s "$dir/model.ngp" ] || fail "$dir/model.ngp was not written"
if [ "$mode" = close ]; then
  [ $rc -eq 0 ] || fail "exit code $rc, expected 0"
  [ "$saved" -eq 1 ] || fail "'snapshot saved' printed $saved times, expected once"
  grep -q "^snapshot saved: $dir/model.ngp (step 3)$" "$dir/out" || fail "the snapshot is not that of step 3"
  grep -Eq '^trained 3 steps in [0-9.]+ s \([0-9.]+M samples/s on 2 threads, final loss [0-9.]+\)$' "$dir/out" ||
    fail "no 'trained 3 steps in ...' summary"
  grep -Eq '^step 3 loss [0-9.]+ psnr~[0-9.]+ rays [0-9]+ samples/ray [0-9.]+ samples/s [0-9.]+M elapsed [0-9.]+s remaining 0\.0s$' "$dir/err" ||
    fail "no progress line for step 3 on stderr"
  grep -q "^test views: 4 from $test, " "$dir/out" || fail "no 'test views: 4' line"
  grep -Eq '^PSNR=[0-9]+\.[0-9]{3} \[[0-9]+\.[0-9]{3} [0-9]+\.[0-9]{3}\] SSIM=[0-9.]+$' "$dir/out" || fail "no PSNR= line"
  n=$(grep -Ec "^screenshot [1-4]/4: $dir/shots/r_[0-3].png \(64x48, rendered in [0-9.]+ s; remaining " "$dir/out")
  [ "$n" -eq 4 ] || fail "$n screenshot lines, expected 4"
  for i in 0 1 2 3; do
    [ -s "$dir/shots/r_$i.png" ] || fail "$dir/shots/r_$i.png is missing"
  done
  # Saved first, then evaluated, as headless: the order of the lines.
  order=$(grep -Eo '^(trained|snapshot saved:|test views:|screenshot [0-9]+/[0-9]+:)' "$dir/out" | sed 's/ [0-9]*\/[0-9]*//' | uniq | tr '\n' ' ')
  [ "$order" = "trained snapshot saved: test views: screenshot: " ] || fail "lines in the order '$order'"
else
  [ $rc -eq 130 ] || fail "exit code $rc, expected 130"
  grep -Eq '^interrupted by SIGINT after [1-9][0-9]* steps?$' "$dir/out" || fail "no 'interrupted by SIGINT' line"
  order=$(grep -Eo '^(trained [1-9][0-9]* steps? in|interrupted by SIGINT)' "$dir/out" | sed 's/ [0-9]* steps\{0,1\} in//' | tr '\n' ' ')
  [ "$order" = "trained interrupted by SIGINT " ] || fail "summary and interruption in the order '$order'"
  [ "$saved" -eq 1 ] || fail "'snapshot saved' printed $saved times, expected once"
  if grep -Eq '^(test views|PSNR=|screenshot)' "$dir/out"; then fail "evaluated or rendered after SIGINT"; fi
  [ ! -e "$dir/shots" ] || fail "$dir/shots was created after SIGINT"
fi
exit $failed
