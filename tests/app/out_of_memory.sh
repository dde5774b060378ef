#!/usr/bin/env bash
# Running out of memory is one clear line and exit 1, never a crash: training with the address
# space limited (prlimit) to less than the model and its buffers need.
# Usage: out_of_memory.sh INSTANT_NGP SCENE_DIR
set -u
unset DISPLAY WAYLAND_DISPLAY # headless, even where a display exists
bin=$1 scene=$2
if ! command -v prlimit >/dev/null; then echo "SKIP: prlimit (util-linux) is missing"; exit 77; fi
if ldd "$bin" | grep -q 'libasan\|libtsan'; then echo "SKIP: sanitizer builds cannot run under an address-space limit"; exit 77; fi
fail() { echo "FAILED: $*"; exit 1; }
for limit in 150000000 400000000; do
  err=$(prlimit --as=$limit "$bin" "$scene" --n-steps 2 --no-gui 2>&1 >/dev/null)
  rc=$?
  echo "limit $limit bytes: exit $rc: $err"
  [ "$rc" -eq 1 ] || fail "exit code $rc, expected 1"
  [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] || fail "expected one line on stderr"
  printf '%s\n' "$err" | grep -Eq '^instant-ngp: error: .*out of memory .*(smaller|use a)' ||
    fail "the line does not say out of memory with a hint"
done
echo "out of memory: ok"
