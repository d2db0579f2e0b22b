#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what is missing, builds, runs every test
# against the real default model.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/setup.sh
export PKG_CONFIG_PATH="$root/.welfare/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
printf '\033[1m==> building (debug)\033[0m\n'
swift build
printf '\033[1m==> building and running Examples/RunASuite (ModelWelfare as a dependency of another package)\033[0m\n'
(cd Examples/RunASuite && swift build && .build/debug/RunASuite local:default "$(mktemp -d)/example.sqlite")
printf '\033[1m==> running the tests\033[0m\n'
# One test at a time: every test drives the real model on all cores.
swift test --no-parallel
