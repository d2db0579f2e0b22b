#!/usr/bin/env bash
# Benchmarks (see BENCHMARKS.md): `scripts/bench.sh` for the engine against llama-cpp-python,
# `scripts/bench.sh harness` for the harness against Inspect AI (installed here on first use).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/setup.sh
export PKG_CONFIG_PATH="$root/.welfare/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
printf '\033[1m==> building (release)\033[0m\n'
if [ "${1:-}" = "harness" ]; then
  # Inspect's llama-cpp-python provider talks to the server through the openai package.
  .welfare/python/bin/python -c 'import inspect_ai, openai' 2>/dev/null ||
    .welfare/python/bin/python -m pip install -q "inspect-ai==0.3.285" "openai>=1.50"
  swift build -c release --product welfare
fi
swift build -c release --product welfare-bench
.build/release/welfare-bench "$@"
