#!/bin/sh
# The layering rules of docs/ARCHITECTURE.md that a grep can check:
#  1. no file under src/viewer/ includes a header of src/app/;
#  2. src/app/, src/viewer/ and tests/bench/ name no CUDA trainer or renderer function and no CPU
#     trainer or renderer function: they go through the backend interface (src/engine/backend.h);
#     the doctor (src/app/doctor.c) may still probe devices;
#  3. src/engine/ and src/nerf/ include nothing of src/app/ or src/viewer/.
# Usage: check_layering.sh SOURCE_DIR. Prints each violation; exits 1 if there is one.
set -eu
src="$1/src"
bad=0
app_headers=$(cd "$src/app" && ls *.h)
for h in $app_headers; do
  if grep -n "#include \"$h\"" "$src"/viewer/*.c "$src"/viewer/*.h; then
    echo "violation: src/viewer includes src/app/$h"
    bad=1
  fi
done
pattern='(ngp_cuda_trainer_|ngp_cuda_renderer_|ngp_trainer_|ngp_nerf_render)[a-z_]*[(]'
for f in $(ls "$src"/app/*.c "$src"/app/*.h "$src"/viewer/*.c "$src"/viewer/*.h "$1"/tests/bench/*.c | grep -v doctor.c); do
  if grep -nE "$pattern" "$f"; then
    echo "violation: $f calls a backend's own trainer or renderer (use src/engine/backend.h)"
    bad=1
  fi
done
for h in $app_headers $(cd "$src/viewer" && ls *.h); do
  if grep -n "#include \"$h\"" "$src"/engine/* "$src"/nerf/*; then
    echo "violation: the engine includes $h (from src/app or src/viewer)"
    bad=1
  fi
done
[ "$bad" = 0 ] && echo "layering: ok"
exit "$bad"
