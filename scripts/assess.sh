#!/usr/bin/env bash
# The main job: an assessment of the embedded default model, written to reports/.
# Extra arguments go to `welfare assess` (e.g. --model PATH).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/setup.sh
export PKG_CONFIG_PATH="$root/.welfare/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
printf '\033[1m==> building (release)\033[0m\n'
swift build -c release --product welfare
printf '\033[1m==> assessing\033[0m\n'
.build/release/welfare assess "$@"
