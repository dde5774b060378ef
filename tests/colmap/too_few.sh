#!/bin/sh
# Too few images registered (CTest label `colmap`): three plain ngp-synth views (transparent
# background, little texture, far apart) give COLMAP no initial pair; ngp-colmap2nerf must fail
# with exit 1 and one line saying how many were registered and what helps. Skipped (77) without
# colmap.
#
#   too_few.sh NGP_SYNTH NGP_COLMAP2NERF WORKDIR
set -u
synth=$1 c2n=$2 work=$3
if ! command -v colmap > /dev/null 2>&1; then
  echo "SKIP: colmap is not installed (Debian: apt-get install colmap; scripts/deps.sh installs it)"
  exit 77
fi
rm -rf "$work"
mkdir -p "$work"
"$synth" --out "$work/scene" --size 64 --train 3 --test 0 --seed 3 --quiet || exit 1
"$c2n" --images "$work/scene/train" --run_colmap --colmap_matcher exhaustive --colmap_db "$work/colmap.db" \
  --text "$work/text" --out "$work/t.json" > "$work/out.txt" 2> "$work/err.txt"
code=$?
cat "$work/out.txt" "$work/err.txt"
fail() {
  echo "FAIL: $1"
  exit 1
}
[ "$code" -eq 1 ] || fail "exit code $code, expected 1"
[ "$(wc -l < "$work/err.txt")" -eq 1 ] || fail "expected one line on stderr"
grep -q "^ngp-colmap2nerf: error: mapping: COLMAP registered 0 of the 3 images" "$work/err.txt" || fail "no count"
grep -q "what usually helps: more photos with more overlap" "$work/err.txt" || fail "no hint"
grep -q "output is in $work/colmap.log" "$work/err.txt" || fail "no log named"
[ -s "$work/colmap.log" ] || fail "the log is empty"
[ ! -e "$work/t.json" ] || fail "a transforms.json was written"
echo "too_few: ok"
