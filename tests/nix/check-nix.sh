#!/usr/bin/env bash
# check-nix.sh: checks some-pkgs' Nix files with whatever Nix is installed, without nixpkgs and
# without network (CTest label `nix`; exit 77 = skipped when nix-instantiate is absent).
#   1. every tracked (or new, not ignored) .nix file parses: nix-instantiate --parse;
#   2. tests/nix/eval-pure.nix evaluates them against the stand-ins in tests/nix/stub and lists
#      the properties that do not hold (outputs, flags, licences, flake and CI structure);
#   3. the shell scripts the package runs parse: bash -n;
#   4. the package's bin/instant-ngp wrapper (default-scene-wrapper.sh), substituted as the package
#      does, over a stand-in program: arguments pass through untouched; none trains on the scene;
#      none without the scene (a cross build) exits 2 naming it, without running the program.
# Works with Debian 12's Nix 2.8, which cannot evaluate nixpkgs itself (that needs Nix >= 2.18):
# building, nixfmt and the NixOS tests run in CI (`nix flake check`).
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v nix-instantiate >/dev/null 2>&1; then
  echo "SKIP: nix-instantiate not found (Debian: apt-get install nix-bin)"
  exit 77
fi

# Nix's state in a temporary folder: runs as any user and never writes the system's store.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export NIX_STATE_DIR="$tmp/state" NIX_LOG_DIR="$tmp/log" NIX_CONF_DIR="$tmp/etc" HOME="$tmp"
nix_opts=(--store "dummy://" --option sandbox false)

failed=0

if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files --cached --others --exclude-standard -- '*.nix')
else
  mapfile -t files < <(find . -name '*.nix' -not -path './build*' -not -path './.git/*' | sort)
fi
for f in "${files[@]}"; do
  [ -f "$f" ] || continue
  if ! nix-instantiate "${nix_opts[@]}" --parse "$f" >/dev/null 2>"$tmp/err"; then
    echo "FAIL: $f does not parse:"
    cat "$tmp/err"
    failed=1
  fi
done
echo "parsed ${#files[@]} .nix files"

if ! result=$(nix-instantiate "${nix_opts[@]}" --eval --strict --json tests/nix/eval-pure.nix 2>&1); then
  echo "FAIL: tests/nix/eval-pure.nix does not evaluate:"
  echo "$result"
  failed=1
elif [ "$result" != "[]" ]; then
  echo "FAIL: properties that do not hold: $result"
  failed=1
else
  echo "tests/nix/eval-pure.nix: every property holds"
fi

for s in pkgs/instant-ngp/*.sh tests/nix/*.sh; do
  if ! bash -n "$s"; then
    echo "FAIL: $s does not parse"
    failed=1
  fi
done

# 4. The wrapper, as postInstall substitutes it (every @var@), around a program printing its arguments.
wrapper() { # SCENE -> $tmp/instant-ngp
  sed -e "s|@shell@|$(command -v bash)|g" -e "s|@scene@|$1|g" -e "s|@program@|$tmp/program|g" \
    pkgs/instant-ngp/default-scene-wrapper.sh >"$tmp/instant-ngp"
  chmod +x "$tmp/instant-ngp"
}
printf '#!/bin/sh\necho "$*"\n' >"$tmp/program"
chmod +x "$tmp/program"
mkdir -p "$tmp/scene"
wrapper "$tmp/scene"
got=$("$tmp/instant-ngp" --scene a --n-steps 1 2>/dev/null)
[ "$got" = "--scene a --n-steps 1" ] || { echo "FAIL: wrapper with arguments ran: $got"; failed=1; }
got=$("$tmp/instant-ngp" 2>"$tmp/err")
want="--scene $tmp/scene --test-transforms $tmp/scene/transforms_test.json --config small.json"
want="$want --batch-size 16384 --train-seconds 60"
[ "$got" = "$want" ] || { echo "FAIL: wrapper without arguments ran: $got"; failed=1; }
grep -q "training for 60 s on the package's synthetic scene ($tmp/scene)" "$tmp/err" ||
  { echo "FAIL: wrapper without arguments said: $(cat "$tmp/err")"; failed=1; }
wrapper "$tmp/missing"
rc=0
got=$("$tmp/instant-ngp" 2>"$tmp/err") || rc=$?
{ [ "$rc" -eq 2 ] && [ -z "$got" ] && grep -q "no generated scene ($tmp/missing)" "$tmp/err"; } ||
  { echo "FAIL: wrapper without a scene: exit $rc, ran '$got', said: $(cat "$tmp/err")"; failed=1; }
[ "$failed" -ne 0 ] || echo "default-scene-wrapper.sh: arguments, the default scene and its absence as expected"

exit "$failed"
