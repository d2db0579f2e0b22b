#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests and benchmarks, from Debian's packages:
#   scripts/postgres.sh start DIR   installs postgresql when missing, creates a cluster in DIR,
#                                   starts it on a free loopback port (socket in DIR too) and
#                                   prints two lines: its URL (no password) and the password
#   scripts/postgres.sh stop DIR    stops it (the caller removes DIR)
# The server asks for a password over TCP (SCRAM), so clients are tested the way a shared
# server is used; the password is random for each start.
set -euo pipefail
command="${1:-}"; dir="${2:-}"
[ -n "$command" ] && [ -n "$dir" ] || { echo "usage: scripts/postgres.sh start|stop DIR" >&2; exit 64; }
bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)"
if [ "$(id -u)" -eq 0 ]; then as_server() { runuser -u postgres -- "$@"; }; SUDO=; else as_server() { "$@"; }; SUDO=sudo; fi

case "$command" in
start)
  if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
    echo "postgres: apt-get install postgresql" >&2
    { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null; } >&2 || {
      echo "postgres: could not install postgresql" >&2; exit 2; }
    bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
  fi
  mkdir -p "$dir"
  [ "$(id -u)" -eq 0 ] && chown postgres "$dir"
  password="$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
  printf '%s\n' "$password" > "$dir/pwfile"
  [ "$(id -u)" -eq 0 ] && chown postgres "$dir/pwfile"
  as_server "$bin/initdb" -D "$dir/data" -U welfare --pwfile="$dir/pwfile" --auth-host=scram-sha-256 --auth-local=trust \
    -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
  rm -f "$dir/pwfile"
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  as_server "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=200 -c fsync=on" start >/dev/null ||
    { cat "$dir/server.log" >&2; exit 1; }
  echo "postgres://welfare@127.0.0.1:$port/postgres"
  echo "$password"
  ;;
stop)
  [ -d "$dir/data" ] && as_server "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  ;;
*) echo "usage: scripts/postgres.sh start|stop DIR" >&2; exit 64 ;;
esac
