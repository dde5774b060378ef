#!/usr/bin/env bash
# Videos from the command line, on the model the CLI tests train on the generated scene.
# Usage: video.sh frames|ffmpeg INSTANT_NGP SCENE_DIR MODEL PATH_JSON WORK_DIR
#   frames: a frame renders the same alone (--video-render-range) as within the whole video, with
#           and without camera smoothing; without ffmpeg on PATH the frames become numbered PNGs.
#           --render-mode depth: the frames are 16-bit grey PNGs (as depth screenshots are; that
#           they equal them is test_video's), not the shaded frames; the summary says so.
#   ffmpeg: H.264 videos (an orbit, instant-ngp's base_cam.json, a frame range, a depth video) have
#           the frame count, size, codec and pixel format asked for (ffprobe); exit 77 without ffmpeg.
set -u
unset DISPLAY WAYLAND_DISPLAY # headless, even where a display exists
mode=$1 bin=$2 scene=$3 model=$4 path_json=$5 work=$6
rm -rf "$work" && mkdir -p "$work"
fail() { echo "FAILED: $*"; exit 1; }
run() { # LOG ARGS...: runs instant-ngp on the model, fails the test on a non-zero exit
  local log=$work/$1.log
  shift
  "$bin" "$model" --threads 2 "$@" >"$log" 2>&1 || fail "instant-ngp $*: $(cat "$log")"
}

if [ "$mode" = frames ]; then
  test_json=$scene/transforms_test.json
  common=(--video-camera-path "$test_json" --video-fps 6 --video-spp 2 --width 32 --height 24)
  run all "${common[@]}" --video-output "$work/all/"
  for i in 0 1 2 3 4 5; do [ -f "$work/all/000$i.png" ] || fail "frame $i of 6 is missing: $(ls "$work/all")"; done
  [ -f "$work/all/0006.png" ] && fail "7 frames written for 1 s at 6 fps"
  cmp -s "$work/all/0002.png" "$work/all/0003.png" && fail "frames 2 and 3 are the same image"
  # run.py's spelling: --video_render_range START END
  run one "${common[@]}" --video_render_range 3 3 --video-output "$work/one/"
  cmp "$work/all/0003.png" "$work/one/0003.png" || fail "frame 3 alone differs from frame 3 of the whole video"
  [ "$(ls "$work/one")" = 0003.png ] || fail "the range 3,3 wrote $(ls "$work/one")"
  # With smoothing, the camera depends on the frames before: still the same alone.
  run sall "${common[@]}" --video-camera-smoothing --video-output "$work/sall/"
  run sone "${common[@]}" --video-camera-smoothing --video-render-range 4,4 --video-output "$work/sone/"
  cmp "$work/sall/0004.png" "$work/sone/0004.png" || fail "smoothed frame 4 alone differs from the whole video's"
  cmp -s "$work/sall/0004.png" "$work/all/0004.png" && fail "smoothing changed nothing at frame 4"
  # A frame-name pattern, as run.py's video_%04d.png.
  run pattern "${common[@]}" --video-render-range 1,2 --video-output "$work/pat/v_%03d.png"
  cmp "$work/all/0001.png" "$work/pat/v_001.png" || fail "the pattern's frame 1 differs"
  # No ffmpeg on PATH: PNG frames in video/ beside where video.mp4 would have gone, and a line saying so.
  PATH=/nonexistent "$bin" "$model" --threads 2 "${common[@]}" --video-render-range 0,1 \
    --video-output "$work/noff/video.mp4" >"$work/noff.log" 2>&1 || fail "without ffmpeg: $(cat "$work/noff.log")"
  grep -q "ffmpeg is not on PATH" "$work/noff.log" || fail "without ffmpeg, no line says so: $(cat "$work/noff.log")"
  [ -f "$work/noff/video/0000.png" ] && [ -f "$work/noff/video/0001.png" ] || fail "without ffmpeg: $(ls -R "$work/noff")"
  [ -e "$work/noff/video.mp4" ] && fail "without ffmpeg a video.mp4 was written"
  cmp "$work/all/0001.png" "$work/noff/video/0001.png" || fail "the fallback's frame 1 differs"
  grep -q "video frames 2/2 (100%) elapsed .* remaining" "$work/noff.log" || fail "no progress line: $(cat "$work/noff.log")"
  # An ffmpeg that fails, early (reading nothing) or at the end: exit 1 naming it, the video already
  # there untouched, no temporary file left.
  mkdir -p "$work/fake/early" "$work/fake/late"
  printf '#!/bin/sh\nexit 3\n' >"$work/fake/early/ffmpeg"
  printf '#!/bin/sh\ncat >/dev/null\nexit 1\n' >"$work/fake/late/ffmpeg"
  chmod +x "$work/fake/early/ffmpeg" "$work/fake/late/ffmpeg"
  for how in early late; do
    mkdir -p "$work/keep_$how" && echo previous >"$work/keep_$how/v.mp4"
    PATH="$work/fake/$how:$PATH" "$bin" "$model" --threads 2 "${common[@]}" --video-render-range 0,1 \
      --video-output "$work/keep_$how/v.mp4" >"$work/fake_$how.log" 2>&1
    rc=$?
    [ $rc = 1 ] || fail "a failing ffmpeg ($how): exit $rc, $(cat "$work/fake_$how.log")"
    grep -q "keep_$how/v.mp4: ffmpeg" "$work/fake_$how.log" || fail "($how) no line names ffmpeg: $(cat "$work/fake_$how.log")"
    [ "$(cat "$work/keep_$how/v.mp4")" = previous ] || fail "a failing ffmpeg ($how) changed the existing video"
    [ "$(ls "$work/keep_$how")" = v.mp4 ] || fail "a failing ffmpeg ($how) left $(ls "$work/keep_$how")"
  done
  # Render modes: depth frames are 16-bit grey PNGs (PNG header: bit depth 16, colour type 0).
  run depth "${common[@]}" --render-mode depth --video-render-range 0,1 --video-output "$work/depth/"
  grep -q "depth as 16-bit PNGs" "$work/depth.log" || fail "depth video: $(cat "$work/depth.log")"
  for i in 0 1; do
    [ "$(od -An -tx1 -j24 -N2 "$work/depth/000$i.png" | tr -d ' ')" = 1000 ] ||
      fail "depth frame $i is not a 16-bit grey PNG: $(od -An -tx1 -N32 "$work/depth/000$i.png")"
  done
  cmp -s "$work/depth/0001.png" "$work/all/0001.png" && fail "the depth frame is the shaded one"
  # Empty names are usage errors (the catalogue's runner cannot pass an empty argument).
  for opt in --video-output --video-camera-path; do
    "$bin" "$model" --video-orbit 1 "$opt" "" >"$work/empty.log" 2>&1
    rc=$?
    [ $rc = 2 ] && grep -q -- "$opt: empty file name" "$work/empty.log" || fail "$opt '': exit $rc, $(cat "$work/empty.log")"
  done
  echo "video frames: ok"
  exit 0
fi

command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || {
  echo "SKIP: ffmpeg and ffprobe are not on PATH (Debian: apt-get install ffmpeg)"
  exit 77
}
probe() { # FILE -> "frames,width,height,codec,pix_fmt"
  ffprobe -v error -count_frames -select_streams v:0 \
    -show_entries stream=nb_read_frames,width,height,codec_name,pix_fmt -of json "$1" |
    tr -d ' \n' | sed 's/.*"codec_name":"\([^"]*\)".*"width":\([0-9]*\),"height":\([0-9]*\).*"pix_fmt":"\([^"]*\)".*"nb_read_frames":"\([0-9]*\)".*/\5,\2,\3,\1,\4/'
}
expect() { # FILE WANT
  local got
  got=$(probe "$1")
  [ "$got" = "$2" ] || fail "$1: ffprobe says $got (frames,width,height,codec,pix_fmt), expected $2"
  echo "$1: $got"
}
run orbit --scene "$scene" --video-orbit 1 --video-n-seconds 2 --video-fps 5 --video-spp 1 --width 48 --height 32 \
  --video-output "$work/orbit.mp4"
expect "$work/orbit.mp4" "10,48,32,h264,yuv420p"
grep -q "video saved: $work/orbit.mp4 (10 frames" "$work/orbit.log" || fail "$(cat "$work/orbit.log")"
# instant-ngp's camera path given as a positional file, a frame range of it, the default fps of 60.
run path "$path_json" --video-spp 1 --width 32 --height 24 --video-render-range 2,5 --video_output "$work/path.mp4"
expect "$work/path.mp4" "4,32,24,h264,yuv420p"
grep -q "video: 4 frames (2 to 5 of 60)" "$work/path.log" || fail "$(cat "$work/path.log")"
# Render modes in H.264: a depth video (8-bit grey on one scale, stated) and a normals video.
run depth --scene "$scene" --render-mode depth --video-orbit 1 --video-n-seconds 1 --video-fps 3 --video-spp 1 \
  --width 32 --height 24 --video-output "$work/depth.mp4"
expect "$work/depth.mp4" "3,32,24,h264,yuv420p"
grep -q "depth as 8-bit grey proportional to the distance, 255 = [0-9.]* scene units" "$work/depth.log" ||
  fail "depth video: $(cat "$work/depth.log")"
run normals --scene "$scene" --render-mode normals --video-orbit 1 --video-n-seconds 1 --video-fps 2 --video-spp 1 \
  --width 32 --height 24 --video-output "$work/normals.mp4"
expect "$work/normals.mp4" "2,32,24,h264,yuv420p"
ls "$work" | grep -q '\.tmp\.' && fail "a temporary file was left: $(ls "$work")"
echo "video ffmpeg: ok"
