#!/usr/bin/env bash
# check-nix.sh MODE: checks some-pkgs' Nix files with Nix 2.26 (CTest label `nix`; exit 77 = skipped,
# with the reason). Nix's state lives in a temporary folder: any user, never the system's store.
#   parse   every tracked (or new, not ignored) .nix file parses; the package's shell scripts parse;
#           the bin/instant-ngp wrapper (default-scene-wrapper.sh), substituted as the package does,
#           passes arguments through, trains on the scene without any, and exits 2 without a scene.
#   eval    tests/nix/eval-pure.nix against the stand-in nixpkgs (tests/nix/stub around nixpkgs' real
#           lib): the list of properties that do not hold must be empty; and a nixpkgs without
#           _cuda gives an error that names _cuda.
#   flake   nix flake check --no-build --all-systems, nixpkgs overridden to the stand-in; then lists,
#           by name, what was evaluated against stand-ins instead of nixpkgs, and why.
#   nur     NUR's evaluation: nix-env -qa --json --meta --drv-path over default.nix on a nixpkgs that
#           allows nothing unfree, restricted as NUR runs it; every entry it lists evaluates.
#   vm-scripts  the NixOS VM tests' Python testScripts, as evaluated, pass pyflakes with the names
#           nixpkgs' test driver defines (nixpkgs lints them so before a VM test runs).
#   format  nixfmt --check over every .nix file.
#   fox-hash  the fox's hash in pkgs/instant-ngp/fox.nix is the NAR hash of ../shared/data/nerf/fox,
#           and the file no longer marks it unverified.
# Needs: Nix >= 2.18 (NGP_NIX_BIN, default /opt/trixie/host-bin, where ../shared/nix/setup-nix.sh
# puts 2.26, then PATH); for eval, flake and nur nixpkgs' real lib (NGP_NIXPKGS_LIB: the folder
# holding lib/); for vm-scripts also a python3 with pyflakes (Debian: python3-pyflakes); for format nixfmt (NGP_NIXFMT, else nixfmt on PATH, else NGP_NIX_BIN's nixfmt).
set -euo pipefail
mode=${1:?usage: check-nix.sh parse|eval|flake|nur|vm-scripts|format|fox-hash}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cd "$repo"
skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }

tmp=$(mktemp -d)
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT

# The files a commit would hold: tracked, plus new ones that git does not ignore.
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files --cached --others --exclude-standard | while read -r f; do [ -f "$f" ] && echo "$f"; done)
else
  mapfile -t files < <(find . -type f -not -path './build*' -not -path './.git/*' | sed 's|^\./||' | sort)
fi
nix_files=()
for f in "${files[@]}"; do case "$f" in *.nix) nix_files+=("$f") ;; esac; done

if [ "$mode" = format ]; then
  how="set NGP_NIXFMT, or put nixfmt on PATH; ../shared/nix/README.md says how to build 1.4.0"
  if [ -n "${NGP_NIXFMT:-}" ]; then
    # Named on purpose: it must run.
    version=$("$NGP_NIXFMT" --version 2>&1) || fail "NGP_NIXFMT=$NGP_NIXFMT does not run: $version"
    nixfmt=$NGP_NIXFMT
  else
    # On PATH, else setup-nix.sh's wrapper; a wrapper whose nixfmt was never built (it exits 127
    # saying so) counts as absent.
    nixfmt=
    for c in "$(command -v nixfmt || true)" "${NGP_NIX_BIN:-/opt/trixie/host-bin}/nixfmt"; do
      if [ -n "$c" ] && [ -x "$c" ] && version=$("$c" --version 2>&1); then nixfmt=$c && break; fi
    done
    [ -n "$nixfmt" ] || skip "no nixfmt that runs ($how)"
  fi
  echo "$version"
  "$nixfmt" --check "${nix_files[@]}" || fail "the files above are not formatted (run: $nixfmt FILE...)"
  echo "nixfmt: all ${#nix_files[@]} .nix files formatted"
  exit 0
fi

nix_bin=${NGP_NIX_BIN:-/opt/trixie/host-bin}
[ -x "$nix_bin/nix" ] && PATH="$nix_bin:$PATH"
command -v nix >/dev/null 2>&1 || skip "no Nix (run: sudo sh ../shared/nix/setup-nix.sh, which installs Nix 2.26 in /opt/trixie)"
version=$(nix --version | awk '{print $NF}')
printf '%s\n2.18\n' "$version" | sort -V -C && [ "$version" != 2.18 ] &&
  skip "Nix $version at $(command -v nix) is older than 2.18, which nixpkgs requires (run: sudo sh ../shared/nix/setup-nix.sh)"
echo "Nix $version ($(command -v nix))"
mkdir -p "$tmp/etc" "$tmp/home"
cat >"$tmp/etc/nix.conf" <<'CONF'
experimental-features = nix-command flakes
sandbox = false
build-users-group =
substituters =
CONF
export NIX_CONF_DIR="$tmp/etc" NIX_REMOTE="local?root=$tmp/store" HOME="$tmp/home" XDG_CACHE_HOME="$tmp/home/.cache"
unset NIX_PATH

if [ "$mode" = parse ]; then
  failed=0
  for f in "${nix_files[@]}"; do
    nix-instantiate --parse "$f" >/dev/null 2>"$tmp/err" || { echo "FAIL: $f does not parse:"; cat "$tmp/err"; failed=1; }
  done
  echo "parsed ${#nix_files[@]} .nix files"
  for s in pkgs/instant-ngp/*.sh tests/nix/*.sh; do
    bash -n "$s" || { echo "FAIL: $s does not parse"; failed=1; }
  done
  # The wrapper, as postInstall substitutes it (every @var@), around a program printing its arguments.
  wrapper() { # SCENE -> $tmp/instant-ngp
    sed -e "s|@shell@|$(command -v bash)|g" -e "s|@scene@|$1|g" -e "s|@program@|$tmp/program|g" \
      -e "s|@ffmpeg@|$tmp/ffmpeg|g" \
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
  # The program finds the package's ffmpeg first on its PATH (videos).
  mkdir -p "$tmp/ffmpeg/bin" && printf '#!/bin/sh\n' >"$tmp/ffmpeg/bin/ffmpeg" && chmod +x "$tmp/ffmpeg/bin/ffmpeg"
  printf '#!/bin/sh\ncommand -v ffmpeg\n' >"$tmp/program"
  got=$("$tmp/instant-ngp" --video-orbit 1 2>/dev/null)
  [ "$got" = "$tmp/ffmpeg/bin/ffmpeg" ] || { echo "FAIL: the wrapped program's ffmpeg is '$got'"; failed=1; }
  [ "$failed" -ne 0 ] || echo "default-scene-wrapper.sh: arguments, the default scene and its absence, ffmpeg as expected"
  exit "$failed"
fi

if [ "$mode" = fox-hash ]; then
  fox=$repo/../shared/data/nerf/fox
  [ -f "$fox/transforms.json" ] && [ -f "$fox/LICENSE.txt" ] ||
    skip "no copy of the fox with its LICENSE.txt at $fox (the shared data folder)"
  # Once checked, the file says so and how (not "TODO(verify-hash)").
  ! grep -q 'TODO(verify-hash)' pkgs/instant-ngp/fox.nix ||
    fail "pkgs/instant-ngp/fox.nix still marks its hash unverified (TODO(verify-hash)); this test verifies it"
  want=$(sed -n 's/^ *hash = "\(sha256-[^"]*\)";/\1/p' pkgs/instant-ngp/fox.nix)
  [ -n "$want" ] || fail "pkgs/instant-ngp/fox.nix: no hash = \"sha256-...\" line"
  got=$(nix hash path --type sha256 --sri "$fox")
  [ "$got" = "$want" ] || fail "fox.nix says $want, the NAR hash of $fox is $got"
  echo "fox.nix's hash $want is the NAR hash of $fox"
  exit 0
fi

# eval, flake, nur: the stand-in nixpkgs around the real lib, and a copy of the source as committed.
lib_dir=${NGP_NIXPKGS_LIB:-}
[ -n "$lib_dir" ] || skip "NGP_NIXPKGS_LIB is not set: the stand-in nixpkgs needs nixpkgs' real lib (a copy of github:nix-community/nixpkgs.lib; set NGP_NIXPKGS_LIB, or the CMake cache entry, to the folder holding lib/)"
[ -f "$lib_dir/lib/default.nix" ] || fail "NGP_NIXPKGS_LIB=$lib_dir has no lib/default.nix"
mkdir -p "$tmp/nixpkgs" "$tmp/src"
cp -r tests/nix/stub/. "$tmp/nixpkgs/"
cp -r "$lib_dir/lib" "$tmp/nixpkgs/lib"
printf '%s\0' "${files[@]}" | tar --null -T - -cf - | tar -xf - -C "$tmp/src"
echo "nixpkgs' lib $(nix-instantiate --eval --raw -E "(import $tmp/nixpkgs/lib).version") from $lib_dir"

case "$mode" in
eval)
  result=$(nix-instantiate --eval --read-write-mode --strict --json tests/nix/eval-pure.nix \
    --arg nixpkgs "$tmp/nixpkgs" --arg root "$tmp/src" ${NGP_NIX_TRACE:+--show-trace} 2>&1) ||
    fail "tests/nix/eval-pure.nix does not evaluate: $result"
  [ "$result" = "[]" ] || fail "properties that do not hold: $result"
  echo "tests/nix/eval-pure.nix: every property holds"
  # A nixpkgs without _cuda (older than CUDA's predicate): the flake says so, not "unfree".
  mkdir -p "$tmp/old-nixpkgs"
  cp -r "$tmp/nixpkgs/." "$tmp/old-nixpkgs/"
  mv "$tmp/old-nixpkgs/default.nix" "$tmp/old-nixpkgs/current.nix"
  echo 'args: removeAttrs (import ./current.nix args) [ "_cuda" ]' >"$tmp/old-nixpkgs/default.nix"
  expr="let input = (import $tmp/old-nixpkgs/flake.nix).outputs { self = input; } // { outPath = $tmp/old-nixpkgs; };
    out = (import $tmp/src/flake.nix).outputs { self = out // { outPath = \"/src\"; }; nixpkgs = input; };
    in out.legacyPackages.x86_64-linux.pkgsCuda.instant-ngp.drvPath"
  if msg=$(nix-instantiate --eval --read-write-mode -E "$expr" 2>&1); then fail "a nixpkgs without _cuda evaluated the CUDA build: $msg"; fi
  grep -q "_cuda" <<<"$msg" && ! grep -q "has an unfree license" <<<"$msg" ||
    fail "a nixpkgs without _cuda: the error does not name _cuda: $msg"
  echo "a nixpkgs without _cuda: $(grep -o "error: .*" <<<"$msg" | head -n 1)"
  ;;
flake)
  override=(--no-write-lock-file --override-input nixpkgs "path:$tmp/nixpkgs")
  nix flake check --no-build --all-systems "${override[@]}" "path:$tmp/src" 2>&1 | tee "$tmp/log" ||
    fail "nix flake check --no-build failed"
  grep -qi "warning: .*unknown flake output\|omitted" "$tmp/log" && fail "nix flake check left something out (above)"
  echo "nix flake check --no-build: every output evaluates, for every system"
  # What that evaluated against stand-ins instead of nixpkgs itself, by name: each check must be
  # in this list, so that a new one says what it needs.
  checks=$(nix eval --json "${override[@]}" "path:$tmp/src#checks.x86_64-linux" --apply builtins.attrNames 2>/dev/null)
  known='["clang-format","formatting","instant-ngp","instant-ngp-pkg-config","instant-ngp-train-cpu","instant-ngp-version","module-eval","vm-headless","vm-viewer"]'
  [ "$checks" = "$known" ] || fail "the flake's checks are $checks, not $known: say below what a new one needs"
  cat <<'EOF'
Evaluated here against stand-ins, not against nixpkgs itself (the GitHub workflow does that):
  checks.*.vm-headless, checks.*.vm-viewer: their nodes go through the real module system, but over
    stand-in declarations of the NixOS options we touch (tests/nix/stub/nixos), not NixOS' own
    modules (qemu-vm.nix, x11.nix, nix-required-mounts.nix) and not nixpkgs' test driver (their
    testScripts are linted by nix_vm-scripts, not type-checked with mypy).
  checks.*.module-eval: the same stand-in NixOS options (nixpkgs' lib.nixosSystem needs NixOS).
  checks.*.instant-ngp, instant-ngp-version, instant-ngp-pkg-config, instant-ngp-train-cpu,
    clang-format, formatting: their inputs (cmake, clang-tools, nixfmt, testers, ...) are
    never-built stand-in derivations; building any check needs nixpkgs.
  formatter.*: nixfmt-tree is a stand-in.
  legacyPackages.*: nix flake check does not look inside; nix_eval evaluates pkgsCuda, ci and tests.
EOF
  ;;
nur)
  # As NUR and its template's workflow run it (XML, --show-trace), then as JSON to look inside.
  for format in xml json; do
    nix-env -f "$tmp/src" -qa '*' --$format --meta --drv-path --show-trace \
      --option restrict-eval true --option allow-import-from-derivation true \
      -I nixpkgs="$tmp/nixpkgs" -I "$tmp/src" >"$tmp/nur.$format" 2>"$tmp/err" ||
      fail "NUR's evaluation (nix-env -qa --$format over default.nix, unfree not allowed) failed: $(cat "$tmp/err")"
  done
  grep -q '<item attrPath="instant-ngp" drvPath="/nix/store/' "$tmp/nur.xml" ||
    fail "NUR's evaluation (--xml) does not list instant-ngp with its drvPath: $(head -c 400 "$tmp/nur.xml")"
  # nix-env drops without a word what throws while it is queried (Nix counts a `throw`, such as
  # check-meta's unfree refusal, as an assertion failure): such an entry has no drvPath and no meta.
  # NUR's listing must hold only derivations that evaluate with unfree not allowed.
  expr="let d = builtins.fromJSON (builtins.readFile $tmp/nur.json); in {
    listed = builtins.attrNames d;
    dropped = builtins.filter (n: !(d.\${n} ? drvPath && d.\${n} ? meta)) (builtins.attrNames d); }"
  listed=$(nix-instantiate --eval --json --strict -E "$expr" -A listed)
  dropped=$(nix-instantiate --eval --json --strict -E "$expr" -A dropped)
  [ "$dropped" = "[]" ] ||
    fail "NUR's evaluation lists $listed, but $dropped do not evaluate with unfree not allowed (keep such things below the top level)"
  grep -q '"drvPath": *"/nix/store/[a-z0-9]*-instant-ngp-[0-9.]*\.drv"' "$tmp/nur.json" ||
    fail "NUR's evaluation gave no drvPath for instant-ngp: $(head -c 400 "$tmp/nur.json")"
  echo "NUR's evaluation: lists $listed, each with its drvPath and meta"
  ;;
vm-scripts)
  py=
  for c in python3 /usr/bin/python3; do
    if command -v "$c" >/dev/null 2>&1 && "$c" -m pyflakes --version >/dev/null 2>&1; then py=$c && break; fi
  done
  [ -n "$py" ] || skip "no python3 with pyflakes (Debian: apt install python3-pyflakes)"
  # What nixpkgs' test driver puts in scope (its generate-driver-symbols), beside the node names.
  driver="start_all,test_script,machines,vlans,driver,log,os,create_machine,subtest,run_tests"
  driver="$driver,join_all,retry,serial_stdout_off,serial_stdout_on,polling_condition,Machine,t"
  failed=0
  for t in vm-headless vm-viewer; do
    test="(import $tmp/src/default.nix { pkgs = import $tmp/nixpkgs { }; }).instant-ngp.tests.$t"
    nodes=$(nix-instantiate --eval --json --strict -E "builtins.attrNames $test.config.nodes" | tr -d '[]"')
    nix-instantiate --eval --raw -E "$test.testScript" >"$tmp/$t.py" 2>"$tmp/err" ||
      { echo "FAIL: $t: testScript does not evaluate: $(cat "$tmp/err")"; failed=1; continue; }
    if PYFLAKES_BUILTINS="$nodes,$driver" "$py" -m pyflakes "$tmp/$t.py"; then
      echo "$t: testScript ($(wc -l <"$tmp/$t.py") lines, nodes: $nodes) passes pyflakes"
    else
      echo "FAIL: $t: pyflakes (above) rejects its testScript"
      failed=1
    fi
  done
  exit "$failed"
  ;;
*) fail "unknown mode $mode" ;;
esac
