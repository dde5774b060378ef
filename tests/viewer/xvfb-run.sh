#!/bin/sh
# xvfb-run.sh COMMAND [ARGS...]: runs COMMAND with DISPLAY set to a private X server (Xvfb) that
# Mesa renders into in software (llvmpipe), then stops the server. Exits 77 (CTest: skipped) with
# the reason when Xvfb is not installed (Debian: xvfb, plus libgl1-mesa-dri for GL).
# Xvfb picks a free display itself (-displayfd), so parallel tests do not collide.
if ! command -v Xvfb >/dev/null 2>&1; then
  echo "SKIP: Xvfb is not installed (Debian: apt-get install xvfb libgl1-mesa-dri)"
  exit 77
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ngp-xvfb.XXXXXX") || exit 1
Xvfb -displayfd 3 -screen 0 1280x1024x24 -nolisten tcp -noreset 3>"$tmp/display" >"$tmp/log" 2>&1 &
xpid=$!
i=0
while [ ! -s "$tmp/display" ] && kill -0 "$xpid" 2>/dev/null && [ $i -lt 200 ]; do
  sleep 0.05
  i=$((i + 1))
done
display=$(cat "$tmp/display" 2>/dev/null)
if [ -z "$display" ]; then
  echo "xvfb-run.sh: Xvfb did not start; its log:" >&2
  cat "$tmp/log" >&2
  kill "$xpid" 2>/dev/null
  rm -rf "$tmp"
  exit 1
fi
# Software GL whatever the machine has; no Wayland, so GLFW takes the X server.
DISPLAY=":$display" LIBGL_ALWAYS_SOFTWARE=1 WAYLAND_DISPLAY= "$@"
rc=$?
kill "$xpid" 2>/dev/null
wait "$xpid" 2>/dev/null
rm -rf "$tmp"
exit $rc
