#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests, on loopback, under a scratch directory.
#
#   .ci/postgres.sh install      install Debian's postgresql package if initdb is missing
#   .ci/postgres.sh start        start a server; prints, for eval:
#                                  export GATECHECK_TEST_PG_URL=postgresql://postgres:PW@127.0.0.1:PORT/postgres
#                                  export GATECHECK_TEST_PG_DIR=/tmp/gatecheck-pg.XXXXXX
#   .ci/postgres.sh stop DIR     stop the server started in DIR and delete DIR
#
# Used by .ci/run and by the tests' own fixture (tests/pgserver.py), so the two
# start servers the same way.  initdb refuses to run as root, so as root the server
# runs as the 'postgres' user (created by the package).  The superuser gets a random
# password (initdb --pwfile) and every connection, local or TCP, authenticates with
# scram-sha-256.  Every server preloads pg_stat_statements (Debian's server package
# ships it), which the executed-references rule reads; a database gets its view with
# CREATE EXTENSION pg_stat_statements.  Messages go to stderr; only the exports go to
# stdout.
set -euo pipefail

log() { echo "postgres.sh: $*" >&2; }

bindir() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -n "$dir" ] && [ -x "$dir/initdb" ]; then
    echo "$dir"
  elif command -v initdb >/dev/null 2>&1; then
    dirname "$(command -v initdb)"
  else
    return 1
  fi
}

as_owner() {
  # Run a server binary as the data directory's owner.
  if [ "$(id -u)" -eq 0 ]; then
    if command -v runuser >/dev/null 2>&1; then
      runuser -u postgres -- "$@"
    else
      su postgres -s /bin/sh -c "$(printf '%q ' "$@")"
    fi
  else
    "$@"
  fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

cmd_install() {
  if bindir >/dev/null; then
    return 0
  fi
  if [ "$(id -u)" -ne 0 ]; then
    log "PostgreSQL is not installed and this is not root: apt-get install postgresql"
    return 1
  fi
  log "installing Debian's postgresql package"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
  bindir >/dev/null
}

cmd_start() {
  local bin dir password port attempt
  if ! bin=$(bindir); then
    log "PostgreSQL is not installed (no initdb); run: $0 install"
    return 1
  fi
  if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
    log "running as root, but there is no 'postgres' user to run the server as"
    return 1
  fi
  dir=$(mktemp -d /tmp/gatecheck-pg.XXXXXX)
  chmod 0755 "$dir"
  password=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
  printf '%s\n' "$password" >"$dir/pwfile"
  if [ "$(id -u)" -eq 0 ]; then
    chown -R postgres: "$dir"
  fi
  if ! as_owner "$bin/initdb" -D "$dir/data" -U postgres --pwfile="$dir/pwfile" \
      --auth-local=scram-sha-256 --auth-host=scram-sha-256 -E UTF8 --no-locale \
      >"$dir/initdb.log" 2>&1; then
    cat "$dir/initdb.log" >&2
    rm -rf "$dir"
    return 1
  fi
  rm -f "$dir/pwfile"
  # A port can be taken between choosing and binding it: try a few.
  for attempt in 1 2 3 4 5; do
    port=$(free_port)
    if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$dir \
            -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
            -c max_connections=50 -c shared_preload_libraries=pg_stat_statements" \
        start >/dev/null 2>&1; then
      break
    fi
    port=""
  done
  if [ -z "$port" ]; then
    log "the server did not start; its log:"
    tail -n 20 "$dir/server.log" >&2 || true
    rm -rf "$dir"
    return 1
  fi
  for attempt in $(seq 1 60); do
    if "$bin/pg_isready" -q -h 127.0.0.1 -p "$port"; then
      break
    fi
    sleep 0.5
  done
  if ! "$bin/pg_isready" -q -h 127.0.0.1 -p "$port"; then
    log "the server does not accept connections on 127.0.0.1:$port"
    cmd_stop "$dir"
    return 1
  fi
  log "PostgreSQL $("$bin/pg_ctl" --version | awk '{print $3}') on 127.0.0.1:$port, data in $dir"
  echo "export GATECHECK_TEST_PG_URL=postgresql://postgres:$password@127.0.0.1:$port/postgres"
  echo "export GATECHECK_TEST_PG_DIR=$dir"
}

cmd_stop() {
  local dir=${1:-} bin
  if [ -z "$dir" ] || [ ! -d "$dir" ]; then
    return 0
  fi
  case "$dir" in
    /tmp/gatecheck-pg.*) ;;
    *) log "refusing to stop/delete $dir: not a directory this script made"; return 1 ;;
  esac
  if bin=$(bindir) && [ -f "$dir/data/postmaster.pid" ]; then
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
}

case "${1:-}" in
  install) cmd_install ;;
  start) cmd_start ;;
  stop) cmd_stop "${2:-}" ;;
  *) echo "usage: $0 install | start | stop DIR" >&2; exit 2 ;;
esac
