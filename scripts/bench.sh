#!/usr/bin/env bash
# Engine benchmarks against llama-cpp-python on the same GGUF and threads (see BENCHMARKS.md).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/setup.sh
printf '\033[1m==> building (release)\033[0m\n'
swift build -c release --product welfare-bench
.build/release/welfare-bench "$@"
