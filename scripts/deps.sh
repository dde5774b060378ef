#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages the build and the tests need, if any are missing.
# Uses sudo when not run as root. Does nothing when everything is present.
set -euo pipefail
# libglfw3-dev, libepoxy-dev: the viewer; xvfb, libgl1-mesa-dri, libglx-mesa0: its tests (X server and
# Mesa's software OpenGL); libx11-dev: ngp-test-xwindow, which closes the viewer's window in its tests
# (libglfw3-dev only recommends it). clang, libclang-rt-dev: libFuzzer for scripts/fuzz.sh. clang-format: the
# `format` test (.clang-format over src/ and tests/). python3-pyflakes: the nix_vm-scripts test (the
# NixOS VM tests' Python scripts linted as nixpkgs lints them). ffmpeg: videos in H.264 and the video
# tests' ffprobe; with colmap, what ngp-colmap2nerf drives; the `colmap` test (tests/colmap/e2e.sh)
# recovers a scene's poses with it (the two: about 73 MB to download, 226 MB installed, with its Qt and
# Ceres; a few minutes of the test run on 2 cores).
pkgs=(cmake make gcc pkg-config libcjson-dev libstb-dev libcmocka-dev
      libglfw3-dev libepoxy-dev libx11-dev xvfb libgl1-mesa-dri libglx-mesa0 clang libclang-rt-dev clang-format
      python3-pyflakes colmap ffmpeg)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  echo "deps: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Nix 2.26 for the `nix` tests (tests/nix/check-nix.sh): Debian 12's own nix-bin (2.8) is older than
# nixpkgs' minimum (2.18). ../shared/nix/setup-nix.sh installs Debian 13's into /opt/trixie, from the
# Debian archive only; it is idempotent, and skipped when that Nix is already there.
setup_nix="$(cd "$(dirname "$0")/.." && pwd)/../shared/nix/setup-nix.sh"
if [ ! -x /opt/trixie/host-bin/nix ]; then
  if [ -f "$setup_nix" ]; then
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    echo "deps: installing Nix 2.26 into /opt/trixie ($setup_nix)"
    # Only the nix tests need it: if it cannot be installed, they say so and are skipped.
    $sudo sh "$setup_nix" >/dev/null ||
      echo "deps: Nix 2.26 could not be installed (above): the nix tests will report themselves skipped"
  else
    echo "deps: no $setup_nix: the nix tests will report themselves skipped"
  fi
fi
