#!/bin/sh
# Every C, CUDA and header file under src/ and tests/ is formatted as .clang-format says
# (clang-format --dry-run -Werror). Skipped (77) when clang-format is not installed; NGP_CLANG_FORMAT
# names another binary. Usage: check_format.sh SOURCE_DIR
set -u
root="$1"
cf="${NGP_CLANG_FORMAT:-clang-format}"
if ! command -v "$cf" >/dev/null 2>&1; then
  echo "SKIP: $cf not found (Debian: apt install clang-format)"
  exit 77
fi
echo "$("$cf" --version)"
files=$(find "$root/src" "$root/tests" -type f \( -name '*.c' -o -name '*.h' -o -name '*.cu' -o -name '*.cuh' \) \
          -not -path '*/fuzz/corpus/*' -not -path '*/tests/data/*' | sort)
n=0
bad=0
for f in $files; do
  n=$((n + 1))
  if ! "$cf" --style=file --dry-run -Werror "$f" >/dev/null 2>&1; then
    echo "not formatted: ${f#"$root"/} (clang-format -i ${f#"$root"/})"
    bad=$((bad + 1))
  fi
done
echo "$n files checked, $bad not formatted"
[ "$bad" = 0 ]
