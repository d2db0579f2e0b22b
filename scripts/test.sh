#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what is missing, builds, runs every test
# against the real default model.
#   scripts/test.sh          everything (the full tier; what CI runs)
#   scripts/test.sh --fast   the fast tier only: no model is loaded (store on SQLite, and on
#                            PostgreSQL when WELFARE_TEST_POSTGRES names one; runner logic and
#                            keyed runs on scripted models; command-line parsing; the server's
#                            routes in memory). Seconds after a build.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
fast_filter='WelfareFastTests|WelfareServerTests|WelfareCLITests'
scripts/setup.sh
export PKG_CONFIG_PATH="$root/.welfare/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
if [ "${1:-}" = "--fast" ]; then
  printf '\033[1m==> building the tests (debug)\033[0m\n'
  swift build --build-tests
  printf '\033[1m==> running the fast tier (%s)\033[0m\n' "$fast_filter"
  exec swift test --skip-build --filter "$fast_filter"
fi
# The dashboard's browser test drives Debian's Chromium through chromedriver with Selenium
# (in the project's Python); where they cannot be installed that one test is skipped, saying so.
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  printf '\033[1m==> apt-get install chromium chromium-driver (for the dashboard browser test)\033[0m\n'
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null; } ||
    printf 'test: could not install chromium; the browser test will be skipped\n' >&2
fi
.welfare/python/bin/python -c 'import selenium' 2>/dev/null || .welfare/python/bin/python -m pip install -q "selenium==4.51.0" ||
  printf 'test: could not install selenium; the browser test will be skipped\n' >&2
# The shared-store tests run against a throwaway PostgreSQL server from Debian's packages,
# started here and stopped on exit; where it cannot be installed they are skipped, saying so.
printf '\033[1m==> starting a throwaway PostgreSQL server (scripts/postgres.sh)\033[0m\n'
pgdir="$(mktemp -d /tmp/welfare-postgres.XXXXXX)"
trap 'scripts/postgres.sh stop "$pgdir"; rm -rf "$pgdir"' EXIT
if pg="$(scripts/postgres.sh start "$pgdir")"; then
  export WELFARE_TEST_POSTGRES="$(printf '%s\n' "$pg" | sed -n 1p)" PGPASSWORD="$(printf '%s\n' "$pg" | sed -n 2p)"
  printf 'PostgreSQL at %s\n' "$WELFARE_TEST_POSTGRES"
else
  export WELFARE_TEST_POSTGRES="unavailable: scripts/postgres.sh could not start PostgreSQL"
  printf 'test: could not start PostgreSQL; its store tests will be skipped\n' >&2
fi
printf '\033[1m==> building and running Examples/RunASuite (ModelWelfare as a dependency of another package)\033[0m\n'
# In the main build folder, first: ModelWelfare's dependencies are built once for both
# packages, not twice (that was about 8 minutes on 2 cores). The tests run its
# WordAssociations measure from there.
(cd Examples/RunASuite && swift build --scratch-path "$root/.build")
.build/debug/RunASuite local:default "$(mktemp -d)/example.sqlite"
printf '\033[1m==> building the tool and the tests (debug)\033[0m\n'
swift build --build-tests
printf '\033[1m==> running the tests\033[0m\n'
# One test at a time: every test drives the real model on all cores.
swift test --skip-build --no-parallel
