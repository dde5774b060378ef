#!/bin/sh
# readme_paths.sh SOURCE_DIR INSTANT_NGP NGP_SYNTH: following the README keeps `git status` clean,
# and its commands use only options the programs take.
#  1. every path under build/ or out/ that README.md's and scripts/demo.sh's commands name, and
#     every value of an output option there (--out, --save-snapshot, --screenshot-dir, -B), is
#     ignored by git; so are the viewer's defaults for Ctrl+S and P when it runs in the repository
#     root (snapshot.ngp, screenshot_NNNN.png, as src/viewer/viewer.c names them);
#  2. each option README.md's commands give build/bin/instant-ngp and build/bin/ngp-synth is in
#     that program's --help.
# Skips (77) without git or outside a git checkout (a source tarball has no .gitignore to keep).
set -u
src=$1 ngp=$2 synth=$3
if ! command -v git >/dev/null 2>&1 || ! git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
  echo "SKIP: not a git checkout (or git is not installed): nothing to keep clean"
  exit 77
fi
failed=0
fail() {
  echo "FAIL: $*"
  failed=1
}
ignored() { git -C "$src" check-ignore -q --no-index "$1"; }
# The check can fail: a tracked file is not ignored.
ignored README.md && fail "README.md counts as ignored: the check is broken"

# Command lines of the README's sh blocks and of the demo, continuation lines joined.
commands=$(awk '/^```sh$/ {on=1; next} /^```$/ {on=0} on' "$src/README.md" | sed -e ':a' -e '/\\$/N; s/\\\n//; ta')
demo=$(sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "$src/scripts/demo.sh")
n=0
for tok in $(printf '%s\n%s\n' "$commands" "$demo" | tr -s ' \t"=' '\n\n\n\n'); do
  case $tok in
  build/* | out/*) ;;
  *) continue ;;
  esac
  n=$((n + 1))
  ignored "$tok/x" || ignored "$tok" || fail "'$tok' (named in README.md or scripts/demo.sh) is not ignored by git"
done
[ $n -ge 10 ] || fail "only $n paths under build/ or out/ found in README.md and scripts/demo.sh: the parsing is broken"
# Output options: their values must be under an ignored folder.
printf '%s\n%s\n' "$commands" "$demo" | tr -s ' \t' '\n\n' | awk 'p {print; p=0} /^(--out|--save-snapshot|--screenshot-dir|-B)$/ {p=1}' |
  tr -d '"' | while read -r v; do
    case $v in
    \$*) ;; # a variable of the demo: its value is checked above
    *) ignored "$v/x" || ignored "$v" || echo "FAIL: output '$v' is not ignored by git" ;;
    esac
  done | grep FAIL && failed=1

# The viewer's defaults, written to the current folder.
grep -q '"snapshot.ngp"' "$src/src/viewer/viewer.c" || fail "viewer.c no longer saves snapshot.ngp by default: update this test"
grep -q 'screenshot_%04d.png' "$src/src/viewer/viewer.c" || fail "viewer.c no longer names screenshot_%04d.png: update this test"
for f in snapshot.ngp screenshot_0000.png screenshot_0042.png screenshot_9999.png; do
  ignored "$f" || fail "the viewer's default $f is not ignored by git"
done

# Options of the README's commands against each program's --help.
help_ngp=$("$ngp" --help 2>&1)
help_synth=$("$synth" --help 2>&1)
printf '%s\n' "$commands" | while read -r line; do
  case $line in
  build/bin/instant-ngp*) help=$help_ngp ;;
  build/bin/ngp-synth*) help=$help_synth ;;
  *) continue ;;
  esac
  for opt in $(printf '%s\n' "$line" | tr -s ' ' '\n' | grep -E '^--?[a-z]'); do
    printf '%s\n' "$help" | grep -qE -- "(^|[ ,])$opt([ ,=]|$)" || echo "FAIL: README.md runs '${line%% *}' with $opt, which its --help does not list"
  done
done | grep FAIL && failed=1
[ $failed -eq 0 ] && echo "readme paths: ok"
exit $failed
