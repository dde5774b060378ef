#!@shell@
# instant-ngp as the Nix package installs it. With arguments it is the program itself, untouched.
# With none (`nix run .#instant-ngp`), it trains for a minute on the synthetic scene generated
# while the package was built and reports PSNR/SSIM on that scene's test views. The small config
# and batch make that minute worth it on a CPU too (about 23 dB on two cores; far more on CUDA).
if [ "$#" -eq 0 ]; then
  if [ ! -d "@scene@" ]; then
    echo "instant-ngp: no arguments given, and this build has no generated scene (@scene@):" \
      "it was cross-compiled, so ngp-synth could not run while it was built. Give one: --scene DIR" >&2
    exit 2
  fi
  echo "instant-ngp: no arguments given: training for 60 s on the package's synthetic scene (@scene@)" >&2
  set -- --scene "@scene@" --test-transforms "@scene@/transforms_test.json" \
    --config small.json --batch-size 16384 --train-seconds 60
fi
# Videos (--video-camera-path, --video-orbit) pipe their frames into ffmpeg: nixpkgs' own first.
PATH="@ffmpeg@/bin${PATH:+:$PATH}"
export PATH
exec -a "$0" "@program@" "$@"
