#!/bin/sh
# A GPU test without a device: with NGP_REQUIRE_GPU=1 it must fail (exit 1, saying why), with
# NGP_REQUIRE_GPU=0 skip (exit 77); on a machine with a usable device both runs pass (exit 0).
# Usage: check_require.sh TEST_BINARY
bin="$1"
out=$(NGP_REQUIRE_GPU=1 "$bin" 2>&1); rc=$?
if [ "$rc" = 0 ]; then echo "a usable device is present: $bin passed with NGP_REQUIRE_GPU=1"; echo "require: ok"; exit 0; fi
if [ "$rc" != 1 ] || ! printf '%s' "$out" | grep -q "one is required here (NGP_REQUIRE_GPU=1)"; then
  echo "NGP_REQUIRE_GPU=1 without a device: expected exit 1 with the reason, got $rc:"; printf '%s\n' "$out"; exit 1
fi
out0=$(NGP_REQUIRE_GPU=0 "$bin" 2>&1); rc0=$?
if [ "$rc0" != 77 ]; then echo "NGP_REQUIRE_GPU=0 without a device: expected 77, got $rc0:"; printf '%s\n' "$out0"; exit 1; fi
echo "require: ok"
