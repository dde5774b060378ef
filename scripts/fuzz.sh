#!/usr/bin/env bash
# Fuzzes the loaders with libFuzzer (tests/fuzz/README.md): configures a clang build in build/fuzz
# with NGP_FUZZ=ON, builds the targets, and runs each for FUZZ_SECONDS (default 60) on a copy of
# its seed corpus, so the repository is never modified. Exits non-zero on any crash, sanitizer
# report, broken invariant, leak, timeout or out-of-memory, printing the input that caused it.
#
#   FUZZ_SECONDS=60   seconds per target
#   FUZZ_TARGETS="scene config snapshot image"   which targets
#   FUZZ_CC=clang-14  the compiler (default: clang, else the newest clang-NN on PATH)
#   FUZZ_JOBS=2       build jobs
#   NGP_FUZZ_TMPDIR   where the targets write each input (default: a folder in /dev/shm, removed after)
# Findings land in build/fuzz/findings/<target>/ and each run's log in build/fuzz/logs/.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
seconds=${FUZZ_SECONDS:-60}
targets=${FUZZ_TARGETS:-"scene config snapshot image"}
jobs=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 2)}
build=$root/build/fuzz

cc=${FUZZ_CC:-}
if [ -z "$cc" ]; then
  for c in clang clang-19 clang-18 clang-17 clang-16 clang-15 clang-14; do
    if command -v "$c" >/dev/null 2>&1; then cc=$c; break; fi
  done
fi
if [ -z "$cc" ]; then
  echo "fuzz.sh: no clang found; install clang (Debian: apt-get install clang) or set FUZZ_CC" >&2
  exit 2
fi

echo "== configure and build ($cc) in build/fuzz"
cmake -S . -B "$build" -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNGP_FUZZ=ON \
  -DNGP_BUILD_TESTS=OFF -DBUILD_SHARED_LIBS=OFF -DNGP_CUDA=OFF -DNGP_BUILD_VIEWER=OFF >/dev/null
fuzzers=()
for t in $targets; do fuzzers+=("fuzz_$t"); done
cmake --build "$build" -j"$jobs" --target "${fuzzers[@]}" ngp-snaptool

work=$build/work
rm -rf "$work" "$build/findings" "$build/logs"
mkdir -p "$work" "$build/logs"
# Snapshot seeds made now by the library itself, so they always match the current format: a
# tiny network at aabb_scale 1 and 2 in fuzz_snapshot's fast form (mode 1: the target appends the
# checksum), and a raw prefix (mode 0).
seeds=$work/snapshot-seeds
mkdir -p "$seeds"
for a in 1 2; do
  "$build/fuzz/ngp-snaptool" make tests/fuzz/seed_config.json "$a" "$work/tiny$a.ngp"
  "$build/fuzz/ngp-snaptool" fuzz-seed "$work/tiny$a.ngp" "$seeds/fresh-tiny-aabb$a-fast" 1
done
{ printf '\0'; head -c 2048 "$work/tiny1.ngp"; } >"$seeds/fresh-raw-prefix"

# The targets' scratch folders (one per process, see tests/fuzz/fuzz_common.h) go under one folder
# removed at the end: memory-backed when /dev/shm is there, since every input is written to a file.
if [ -z "${NGP_FUZZ_TMPDIR:-}" ]; then
  if [ -d /dev/shm ] && [ -w /dev/shm ]; then scratch=$(mktemp -d /dev/shm/ngp-fuzz.XXXXXX); else scratch=$(mktemp -d "$work/scratch.XXXXXX"); fi
  trap 'rm -rf "$scratch"' EXIT
  export NGP_FUZZ_TMPDIR=$scratch
fi

failed=0
summary=()
for t in $targets; do
  corpus=$work/corpus-$t
  mkdir -p "$corpus" "$build/findings/$t"
  # Seeds named *-full (a snapshot load with its 8 MiB grid, ~5 runs/s) are replayed by CTest but
  # not fuzzed: mutants of them would starve the fast paths.
  find "tests/fuzz/corpus/$t" -type f ! -name '*-full' -exec cp {} "$corpus/" \;
  cp -R tests/fuzz/regressions/$t/. "$corpus/" 2>/dev/null || true
  if [ "$t" = snapshot ]; then cp "$seeds"/* "$corpus/"; fi
  log=$build/logs/$t.log
  echo "== fuzz_$t for ${seconds}s (corpus: $(ls "$corpus" | wc -l) seeds; log: build/fuzz/logs/$t.log)"
  start=$(date +%s)
  set +e
  (cd "$work" && "$build/fuzz/fuzz_$t" "$corpus" -dict="$root/tests/fuzz/dict/$t.dict" \
    -max_total_time="$seconds" -timeout=20 -rss_limit_mb=3072 -max_len=65536 \
    -artifact_prefix="$build/findings/$t/" -print_final_stats=1) >"$log" 2>&1
  rc=$?
  set -e
  took=$(($(date +%s) - start))
  stats=$(grep -E '^#[0-9]+.*(DONE|pulse|NEW|REDUCE|INITED)' "$log" | tail -1 || true)
  execs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}' || true)
  rate=$(grep -E '^stat::average_exec_per_sec' "$log" | awk '{print $2}' || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$stats")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$stats")
  corp=$(sed -n 's/.* corp: \([^ ]*\).*/\1/p' <<<"$stats")
  summary+=("fuzz_$t: ${took} s, ${execs:-?} runs, ${rate:-?} exec/s, coverage ${cov:-?} edges, ${ft:-?} features, corpus ${corp:-?}")
  if [ $rc -ne 0 ]; then
    failed=1
    echo "!! fuzz_$t failed (exit $rc):" >&2
    grep -E 'ERROR: |SUMMARY: |invariant broken|Test unit written to|^artifact_prefix' "$log" | head -20 >&2 || true
    for f in "$build/findings/$t"/*; do
      if [ -e "$f" ]; then echo "!! crashing input: $f (replay: $build/fuzz/fuzz_$t $f)" >&2; fi
    done
  fi
done

echo "== summary"
printf '%s\n' "${summary[@]}"
if [ $failed -ne 0 ]; then
  echo "fuzz.sh: a target crashed; keep the input under tests/fuzz/regressions/<target>/ once fixed" >&2
  exit 1
fi
echo "fuzz.sh: no crash"
