#!/usr/bin/env bash
# Benchmarks (see BENCHMARKS.md): `scripts/bench.sh` for the engine against llama-cpp-python,
# `scripts/bench.sh harness` for the harness against Inspect AI (installed here on first use),
# `scripts/bench.sh serve` for `welfare serve` against llama_cpp.server, `scripts/bench.sh
# throughput` for continuous batching and KV reuse (also against llama_cpp.server), `scripts/bench.sh
# workers` for queued runs executed by 1, 2 and 4 workers on PostgreSQL and SQLite.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/setup.sh
export PKG_CONFIG_PATH="$root/.welfare/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
printf '\033[1m==> building (release)\033[0m\n'
if [ "${1:-}" = "harness" ]; then
  swift build -c release --product welfare
fi
if [ "${1:-}" = "serve" ]; then
  # welfare serve against llama_cpp.server, same GGUF, threads and client (scripts/bench/serve_bench.py).
  swift build -c release --product welfare
  shift
  exec .welfare/python/bin/python scripts/bench/serve_bench.py .build/release/welfare "$(readlink -f .welfare/models/*.gguf | head -1)" "$@"
fi
if [ "${1:-}" = "score" ] || [ "${1:-}" = "throughput" ]; then
  # The score and throughput benchmarks read peak memory with /usr/bin/time.
  if [ ! -x /usr/bin/time ]; then
    if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq time >/dev/null
  fi
  swift build -c release --product welfare
fi
if [ "${1:-}" = "workers" ]; then
  # A throwaway PostgreSQL server (installed when missing), stopped on exit.
  swift build -c release --product welfare
  pgdir="$(mktemp -d /tmp/welfare-postgres.XXXXXX)"
  trap 'scripts/postgres.sh stop "$pgdir"; rm -rf "$pgdir"' EXIT
  pg="$(scripts/postgres.sh start "$pgdir")"
  export WELFARE_BENCH_POSTGRES="$(printf '%s\n' "$pg" | sed -n 1p)" PGPASSWORD="$(printf '%s\n' "$pg" | sed -n 2p)"
fi
swift build -c release --product welfare-bench
.build/release/welfare-bench "$@"
