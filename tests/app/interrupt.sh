#!/usr/bin/env bash
# SIGINT/SIGTERM during training with --save-snapshot: the run stops after the current step,
# saves atomically, says so and exits 130; a second interrupt exits at once and leaves every
# existing file intact (no half-written snapshot, no temporary left behind).
# Usage: interrupt.sh INSTANT_NGP SCENE_DIR WORK_DIR
set -u
unset DISPLAY WAYLAND_DISPLAY # headless, even where a display exists
bin=$1 scene=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
pid=
fail() { echo "FAILED: $*"; exit 1; }
trap '[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null' EXIT

# Starts a long training run in the background; sets $pid.
start() {
  "$bin" "$scene" --n-steps 1000000 --batch-size 4096 --threads 2 --save-snapshot "$1" >"$2" 2>&1 &
  pid=$!
}
# Waits for the run to finish (at most 120 s); sets $rc.
finish() {
  for _ in $(seq 1200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; fail "the run did not stop within 120 s of the signal"; fi
  wait "$pid"
  rc=$?
}
# Waits until the log shows that training started, plus a little.
started() {
  for _ in $(seq 600); do grep -q '^config:' "$1" && break; sleep 0.1; done
  grep -q '^config:' "$1" || fail "training did not start: $(cat "$1")"
  sleep 2
}
loads() { # the snapshot is complete: it loads and renders the test views
  "$bin" --load-snapshot "$1" --test-transforms "$scene/transforms_test.json" >"$work/load.log" 2>&1 ||
    fail "$1 does not load: $(cat "$work/load.log")"
}
no_temporaries() {
  local left
  left=$(find "$work" -name '*.tmp.*')
  [ -z "$left" ] || fail "temporary files left behind: $left"
}

for sig in INT TERM; do
  snap=$work/$sig.ngp log=$work/$sig.log
  start "$snap" "$log"
  started "$log"
  kill -"$sig" "$pid"
  finish
  cat "$log"
  [ "$rc" -eq 130 ] || fail "SIG$sig: exit code $rc, expected 130"
  grep -Eq "^interrupted by SIG$sig after [1-9][0-9]* steps?$" "$log" || fail "SIG$sig: no 'interrupted by SIG$sig after N steps' line"
  grep -q "^snapshot saved: $snap" "$log" || fail "SIG$sig: the snapshot was not saved"
  loads "$snap"
  no_temporaries
done

# A second interrupt right after the first: exits at once; the snapshot already at the
# destination is either the old one or the complete new one, never damaged.
snap=$work/double.ngp log=$work/double.log
cp "$work/INT.ngp" "$snap"
start "$snap" "$log"
started "$log"
kill -INT "$pid"
sleep 0.02
kill -INT "$pid" 2>/dev/null
finish
cat "$log"
[ "$rc" -eq 130 ] || fail "double interrupt: exit code $rc, expected 130"
loads "$snap"
no_temporaries
echo "interrupt handling: ok"
