#!/usr/bin/env bash
# Installs `welfare` for every user of this machine under one prefix:
#   PREFIX/lib/modelwelfare/  the binary, its resource bundles, the llama.cpp libraries
#                             (found beside the binary through its $ORIGIN run path) and
#                             models/default.gguf
#   PREFIX/bin/welfare        a link to that binary
# Usage: scripts/install.sh [--debug] [--no-build] [PREFIX]   (PREFIX default: /usr/local)
#   --debug     install the debug build instead of the release build
#   --no-build  install what is already built (used by the tests)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
configuration=release
build=1
prefix=/usr/local
for argument in "$@"; do
  case "$argument" in
    --debug) configuration=debug ;;
    --no-build) build=0 ;;
    -*) printf 'install: unknown option %s\n' "$argument" >&2; exit 2 ;;
    *) prefix="$argument" ;;
  esac
done
fail() { printf 'install: %s\n' "$*" >&2; exit 1; }

cd "$root"
if [ "$build" = 1 ]; then
  scripts/setup.sh
  export PKG_CONFIG_PATH="$root/.welfare/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
  printf '\033[1m==> building (%s)\033[0m\n' "$configuration"
  swift build -c "$configuration" --product welfare
fi
binary=".build/$configuration/welfare"
[ -x "$binary" ] || fail "$binary is not built (run without --no-build)"
[ -d .welfare/llama/lib ] || fail "llama.cpp is not set up (run scripts/setup.sh)"
[ -f .welfare/models/default.gguf ] || fail "the default model is not set up (run scripts/setup.sh)"

home="$prefix/lib/modelwelfare"
staging="$home.new-$$"
trap 'rm -rf "$staging"' EXIT
umask 022
mkdir -p "$staging/models" "$prefix/bin"
install -m 755 "$binary" "$staging/welfare"
for bundle in ".build/$configuration"/*.resources; do
  [ -e "$bundle" ] && cp -R "$bundle" "$staging/"
done
# -L: the cache holds the libraries behind links; install real files readable by all.
for library in .welfare/llama/lib/*.so*; do
  cp -L "$library" "$staging/"
done
chmod 644 "$staging"/*.so*
cp -L .welfare/models/default.gguf "$staging/models/default.gguf"
chmod -R a+rX "$staging"
# The new tree is complete before it replaces the old one: two renames, so an install that
# fails or is killed never leaves half a tree in place (only, at worst, the old one moved aside).
rm -rf "$home.old"
[ -e "$home" ] && mv "$home" "$home.old"
mv "$staging" "$home"
rm -rf "$home.old"
ln -sfn ../lib/modelwelfare/welfare "$prefix/bin/welfare"
printf 'installed %s (%s build); run: %s/bin/welfare --help\n' "$home" "$configuration" "$prefix"
