#!/usr/bin/env bash
# The one prepared command for a GPU machine (an H200 with CUDA 13.0, no network; see README,
# "The CUDA backend"): builds for sm_90, runs the `gpu` tests with a skip counted as a failure
# (their output kept: the gradient parity of one training step against the CPU becomes figures),
# then the benchmarks (training samples/s, lego_400 val PSNR against time, the fox at 1920x1080,
# the frame time at 1280x720 while training, as the viewer renders), and writes logs, one line
# per figure (figures.txt), the same as JSON (figures.json) and a few renders (PNG) under the
# output folder.
#
#   scripts/gpu-check.sh [--dry-run] [--out DIR] [--build-dir DIR] [--data DIR] [--curve MINUTES]
#
#   --dry-run    the same steps on the CPU backend with tiny sizes, on a scene made by ngp-synth,
#                so the script is known to work before device time is spent (CI runs this)
#   --out        where results go (default $OUT, else build/gpu-check)
#   --build-dir  the build to use (default build/gpu; configured here when it has no cache)
#   --data       the scenes: DIR/nerf_synthetic/lego_400 and DIR/nerf/fox (default .gpu/data,
#                else ../shared/data)
#   --curve      minutes of training at which lego_400's val PSNR is taken (default 0.25,1;
#                0.25,1,5 for the 300 s figure, which needs a second command of its own)
#
# Libraries the GPU machine lacks (cJSON, stb, cmocka, pkg-config) come as .deb files in
# .gpu/debs (`scripts/gpu-check.sh --fetch-debs` here downloads them) and are unpacked into
# .gpu/root there. Exit status: 0 when every step passed, 1 otherwise (the logs say which).
set -uo pipefail
cd "$(dirname "$0")/.."
dry=0 out="${OUT:-}" build="" data="" curve="0.25,1"
while (($#)); do
  case "$1" in
  --dry-run) dry=1 ;;
  --out) out="$2"; shift ;;
  --build-dir) build="$2"; shift ;;
  --data) data="$2"; shift ;;
  --curve) curve="$2"; shift ;;
  --fetch-debs)
    mkdir -p .gpu/debs && cd .gpu/debs && exec apt-get download libcjson-dev libcjson1 libstb-dev libstb0 \
      libcmocka-dev libcmocka0 pkgconf pkgconf-bin libpkgconf3 ;;
  *) echo "gpu-check: unknown option $1 (see the comment at the top of $0)" >&2; exit 2 ;;
  esac
  shift
done
out="${out:-build/gpu-check}"
build="${build:-build/gpu}"
mkdir -p "$out"
out=$(cd "$out" && pwd)
log="$out/gpu-check.log"
: >"$log"
figures="$out/figures.txt"
: >"$figures"
failed=0
say() { echo "gpu-check: $*" | tee -a "$log"; }
figure() { # name value unit: one line in figures.txt
  printf '%s %s %s\n' "$1" "$2" "$3" | tee -a "$figures"
}
step() { # name command...: runs it, output into the log and $out/<name>.log
  local name="$1"; shift
  say "== $name: $*"
  local t0=$SECONDS
  if "$@" >"$out/$name.log" 2>&1; then
    say "   $name: ok ($((SECONDS - t0)) s)"
    return 0
  fi
  say "   $name: FAILED ($((SECONDS - t0)) s; see $name.log)"
  tail -20 "$out/$name.log" | tee -a "$log"
  failed=1
  return 1
}

# ---- Libraries carried as .deb files ------------------------------------------------------------
if [ -d .gpu/debs ] && ! pkg-config --exists libcjson stb cmocka 2>/dev/null; then
  root=$PWD/.gpu/root
  for f in .gpu/debs/*.deb; do dpkg -x "$f" "$root"; done
  export PATH=$root/usr/bin:$PATH LD_LIBRARY_PATH=$root/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  export PKG_CONFIG_SYSROOT_DIR=$root PKG_CONFIG_LIBDIR=$root/usr/lib/x86_64-linux-gnu/pkgconfig:$root/usr/share/pkgconfig
  say "libraries from .gpu/debs unpacked into $root"
fi
if [ -x /usr/local/cuda/bin/nvcc ]; then export PATH="/usr/local/cuda/bin:$PATH"; fi

if ((dry)); then
  backend=cpu require=0 threads=2
else
  backend=cuda require=1 threads=$(nproc)
fi
say "$(date -u +%FT%TZ) mode $([ $dry = 1 ] && echo dry-run || echo device), backend $backend, results in $out"
command -v nvidia-smi >/dev/null && nvidia-smi >"$out/nvidia-smi.txt" 2>&1

# ---- Build ---------------------------------------------------------------------------------------
if [ ! -f "$build/CMakeCache.txt" ]; then
  gen=()
  command -v ninja >/dev/null && gen=(-G Ninja)
  cuda=ON
  ((dry)) && cuda=AUTO
  step configure cmake -S . -B "$build" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release -DNGP_CUDA=$cuda \
    -DCMAKE_CUDA_ARCHITECTURES=90 -DNGP_BUILD_VIEWER=OFF -DNGP_WARNINGS_AS_ERRORS=ON || exit 1
fi
step build cmake --build "$build" -j"$(nproc)" || exit 1
bin="$build/bin"

# ---- GPU tests: a skip is a failure on the device ------------------------------------------------
if ((dry)); then
  step gpu-tests env NGP_REQUIRE_GPU=0 ctest --test-dir "$build" -L gpu --output-on-failure
else
  step gpu-tests env NGP_REQUIRE_GPU=1 ctest --test-dir "$build" -L gpu -V --timeout 300
fi
# test_gpu_train's per-group gradient comparison, "<config> <group>: ... relative L2 error E ... |g_gpu| / |g_cpu| R"
if [ -f "$out/gpu-tests.log" ]; then
  while IFS='|' read -r what rel ratio; do
    slug=$(printf '%s' "$what" | tr 'A-Z' 'a-z' | sed -E 's/\(.*\)//; s/[^a-z0-9]+/_/g; s/^_+|_+$//g')
    figure "grad_${slug}_rel_l2" "$rel" ""
    figure "grad_${slug}_norm_ratio" "$ratio" ""
  done < <(sed -nE 's/^([0-9]+: )?(.*): [0-9]+ values .*relative L2 error ([0-9.]+) .*\|g_gpu\| \/ \|g_cpu\| ([0-9.]+).*/\2|\3|\4/p' \
    "$out/gpu-tests.log")
fi
if [ -f "$out/gpu-tests.log" ]; then
  # one number per figure (figures.json splits the line on spaces): the failures, out of how many
  read -r nfail ntotal < <(sed -nE 's/.*tests passed, ([0-9]+) tests failed out of ([0-9]+).*/\1 \2/p' \
    "$out/gpu-tests.log" | tail -1)
  figure gpu_tests_failed "${nfail:-null}" "of ${ntotal:-?} (skips count as failures on the device)"
fi

# ---- Scenes --------------------------------------------------------------------------------------
if ((dry)); then
  scenes="$out/scene"
  step synth "$bin/ngp-synth" --out "$scenes" --size 32 --train 6 --test 2 --quiet || exit 1
  lego_train=$scenes/transforms_train.json lego_val=$scenes/transforms_test.json fox=$scenes
  tsteps=(--steps 3 --warmup 1 --batch-size 4096) rsteps=(--steps 3) curve=0.02
  fhd=(--width 64 --height 36) lego_wh=(--width 32 --height 32) hd=(--width 48 --height 27) vsteps=(--steps 2 --repeat 3)
else
  if [ -z "$data" ]; then
    data=.gpu/data
    [ -d "$data" ] || data=../shared/data
  fi
  lego_train=$data/nerf_synthetic/lego_400/transforms_train.json
  lego_val=$data/nerf_synthetic/lego_400/transforms_val.json fox=$data/nerf/fox
  tsteps=(--steps 100 --warmup 20) rsteps=(--steps 2000)
  fhd=(--width 1920 --height 1080) lego_wh=(--width 400 --height 400) hd=(--width 1280 --height 720)
  vsteps=(--steps 200 --repeat 30)
  for f in "$lego_train" "$lego_val" "$fox/transforms.json"; do
    [ -f "$f" ] || { say "missing scene file $f (--data names the folder)"; exit 1; }
  done
fi
common=(--backend "$backend" --threads "$threads")

# ---- Benchmarks ----------------------------------------------------------------------------------
if step throughput "$bin/ngp-bench" throughput --scene "$lego_train" "${common[@]}" "${tsteps[@]}"; then
  v=$(grep -Eo 'training throughput: median [0-9.]+' "$out/throughput.log" | grep -Eo '[0-9.]+$')
  figure lego_train_samples_per_s_M "${v:-null}" "M/s"
fi
if step curve "$bin/ngp-bench" curve --scene "$lego_train" --val "$lego_val" "${common[@]}" --minutes "$curve" \
  --background 1,1,1; then
  while read -r secs psnr; do figure "lego_val_psnr_at_${secs%.*}s" "$psnr" dB; done < <(
    sed -nE 's/^after ([0-9.]+) s \([0-9]+ steps\): PSNR ([0-9.]+).*/\1 \2/p' "$out/curve.log")
fi
if step render_fox "$bin/ngp-bench" render --scene "$fox" "${common[@]}" "${rsteps[@]}" "${fhd[@]}" --repeat 10 \
  --save-png "$out/fox.png"; then
  v=$(grep -Eo 'median [0-9.]+ ms' "$out/render_fox.log" | grep -Eo '[0-9.]+')
  figure fox_render_ms "${v:-null}" "ms (${fhd[1]}x${fhd[3]})"
fi
if step render_lego "$bin/ngp-bench" render --scene "$lego_train" "${common[@]}" "${rsteps[@]}" "${lego_wh[@]}" \
  --save-png "$out/lego.png"; then
  v=$(grep -Eo 'median [0-9.]+ ms' "$out/render_lego.log" | grep -Eo '[0-9.]+')
  figure lego_render_ms "${v:-null}" "ms (${lego_wh[1]}x${lego_wh[3]})"
fi

if step viewer_frame "$bin/ngp-bench" render --scene "$fox" "${common[@]}" "${vsteps[@]}" "${hd[@]}" --while-training 1; then
  v=$(grep -Eo 'median [0-9.]+ ms per frame' "$out/viewer_frame.log" | grep -Eo '[0-9.]+')
  figure viewer_frame_ms_while_training "${v:-null}" "ms (${hd[1]}x${hd[3]}, fox)"
fi

# ---- Figures as JSON -----------------------------------------------------------------------------
{
  echo "{"
  echo "  \"mode\": \"$([ $dry = 1 ] && echo dry-run || echo device)\", \"backend\": \"$backend\","
  echo "  \"failed\": $failed,"
  echo "  \"figures\": {"
  awk 'BEGIN{n=0} {if (n++) printf ",\n"; v=$2; printf "    \"%s\": {\"value\": %s, \"unit\": \"", $1, v;
       for (i = 3; i <= NF; i++) printf "%s%s", (i > 3 ? " " : ""), $i; printf "\"}"} END{printf "\n"}' "$figures"
  echo "  }"
  echo "}"
} >"$out/figures.json"
say "figures: $figures, $out/figures.json"
((failed)) && say "FAILED (see the logs above)" || say "all steps passed"
exit "$failed"
