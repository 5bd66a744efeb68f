#!/usr/bin/env bash
# pg-local.sh - run a private, throw-away PostgreSQL cluster for otelpg.
#
#   scripts/pg-local.sh start  DATADIR PORT   init (if needed) + start, create db "otelpg",
#                                             print the connection URL as the last stdout line
#   scripts/pg-local.sh stop   DATADIR        fast shutdown (ok if not running)
#   scripts/pg-local.sh status DATADIR        exit 0 if running, 3 if not running, 4 if no cluster
#
# The server listens on 127.0.0.1:PORT only, with its unix socket inside DATADIR and its log
# in DATADIR/postgres.log. Authentication is "trust" (local development/test use only).
# When run as root, the server runs as the system user "otelpg" (created if missing).
#
# Environment:
#   PG_BIN        directory holding initdb/pg_ctl/postgres (default: autodetected)
#   OTELPG_PG_USER  OS user to run PostgreSQL as when invoked as root (default: otelpg)
#   PG_START_TIMEOUT  seconds to wait for the server to accept connections (default: 60)
set -euo pipefail

prog=$(basename "$0")
die() { echo "$prog: error: $*" >&2; exit 1; }
log() { echo "$prog: $*" >&2; }
usage() {
  cat >&2 <<EOF
usage: $prog start DATADIR PORT
       $prog stop DATADIR
       $prog status DATADIR
EOF
  exit 2
}

find_pg_bin() {
  if [[ -n "${PG_BIN:-}" ]]; then
    [[ -x "$PG_BIN/pg_ctl" ]] || die "PG_BIN=$PG_BIN does not contain pg_ctl"
    echo "$PG_BIN"; return
  fi
  local d
  if command -v pg_config >/dev/null 2>&1; then
    d=$(pg_config --bindir 2>/dev/null || true)
    if [[ -n "$d" && -x "$d/pg_ctl" && -x "$d/initdb" ]]; then echo "$d"; return; fi
  fi
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5,5 -rn); do
    if [[ -x "$d/pg_ctl" && -x "$d/initdb" ]]; then echo "$d"; return; fi
  done
  if command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1; then
    dirname "$(command -v pg_ctl)"; return
  fi
  die "PostgreSQL server binaries (initdb, pg_ctl) not found; install postgresql or set PG_BIN"
}

PGBIN=$(find_pg_bin)
RUN_AS=()          # prefix to run a command as the PostgreSQL OS user
PG_USER=""

setup_user() {
  if [[ $(id -u) -ne 0 ]]; then
    PG_USER=$(id -un)
    return
  fi
  PG_USER=${OTELPG_PG_USER:-otelpg}
  if ! id -u "$PG_USER" >/dev/null 2>&1; then
    log "creating system user $PG_USER to run PostgreSQL"
    local nologin=/usr/sbin/nologin
    [[ -x $nologin ]] || nologin=/bin/false
    useradd --system --no-create-home --home-dir /nonexistent --shell "$nologin" "$PG_USER" \
      || id -u "$PG_USER" >/dev/null 2>&1 \
      || die "could not create system user $PG_USER"
  fi
  if command -v runuser >/dev/null 2>&1; then
    RUN_AS=(runuser -u "$PG_USER" --)
  elif command -v setpriv >/dev/null 2>&1; then
    local uid gid
    uid=$(id -u "$PG_USER"); gid=$(id -g "$PG_USER")
    RUN_AS=(setpriv --reuid="$uid" --regid="$gid" --init-groups --)
  else
    die "running as root but neither runuser nor setpriv is available to drop privileges"
  fi
}

# Every existing parent directory of DATADIR must be traversable (x) by the PostgreSQL user.
check_parents() {
  local dir=$1
  [[ ${#RUN_AS[@]} -eq 0 ]] && return 0
  local p blocked=""
  p=$(dirname "$dir")
  while :; do
    if [[ -d "$p" ]] && ! "${RUN_AS[@]}" test -x "$p" 2>/dev/null; then blocked=$p; fi
    [[ "$p" == "/" ]] && break
    p=$(dirname "$p")
  done
  if [[ -n "$blocked" ]]; then
    die "PostgreSQL runs as user '$PG_USER', which cannot traverse '$blocked' (a parent of $dir).
  Use a data directory under a world-traversable path, e.g. /tmp/otelpg-pg or /var/tmp/otelpg-pg,
  or make the parents traversable: chmod o+x '$blocked'"
  fi
}

has_cluster() { [[ -f "$1/PG_VERSION" ]]; }

pgctl() { "${RUN_AS[@]}" "$PGBIN/pg_ctl" "$@"; }

is_running() {
  # pg_ctl status: 0 running, 3 not running, 4 no accessible data directory
  pgctl status -D "$1" >/dev/null 2>&1
}

cmd_start() {
  local datadir=$1 port=$2
  [[ "$port" =~ ^[0-9]+$ ]] && (( port > 0 && port < 65536 )) || die "invalid port: $port"
  setup_user
  datadir=$(realpath -m -- "$datadir")
  check_parents "$datadir"
  mkdir -p -- "$datadir"
  if [[ $(id -u) -eq 0 ]]; then
    chown "$PG_USER:" "$datadir"
  fi
  chmod 700 "$datadir"

  if ! has_cluster "$datadir"; then
    if [[ -n "$(ls -A "$datadir" 2>/dev/null)" ]]; then
      die "$datadir is not empty and holds no PostgreSQL cluster; refusing to initdb there"
    fi
    log "initializing PostgreSQL cluster in $datadir"
    local initlog
    initlog=$(mktemp)
    "${RUN_AS[@]}" "$PGBIN/initdb" -D "$datadir" -U postgres --auth=trust -E UTF8 --locale=C \
      >"$initlog" 2>&1 || { cat "$initlog" >&2; rm -f "$initlog"; die "initdb failed"; }
    rm -f "$initlog"
  fi

  local url="postgresql://postgres@127.0.0.1:${port}/otelpg"
  local sockdir="$datadir"
  # unix socket paths are limited to ~107 bytes; fall back to no unix socket if too long
  local sockopt="-c unix_socket_directories='$sockdir'"
  if (( ${#sockdir} > 90 )); then sockopt="-c unix_socket_directories=''"; fi

  if is_running "$datadir"; then
    # already running: report the port it really listens on
    local running_port
    running_port=$(sed -n '4p' "$datadir/postmaster.pid" 2>/dev/null || true)
    if [[ -n "$running_port" && "$running_port" != "$port" ]]; then
      die "cluster in $datadir is already running on port $running_port, not $port"
    fi
  else
    # Telemetry is written in a steady stream: bigger checkpoints mean fewer full-page
    # images in the WAL, and those compressed (durability is unchanged: fsync and
    # synchronous_commit stay on).
    local opts="-c listen_addresses=127.0.0.1 -p $port $sockopt -c fsync=on"
    opts+=" -c shared_buffers=${OTELPG_PG_SHARED_BUFFERS:-256MB} -c max_wal_size=4GB"
    opts+=" -c checkpoint_timeout=15min -c wal_compression=lz4"
    if ! pgctl start -D "$datadir" -w -t "${PG_START_TIMEOUT:-60}" -l "$datadir/postgres.log" \
         -o "$opts" >/dev/null; then
      tail -n 30 "$datadir/postgres.log" >&2 || true
      die "PostgreSQL failed to start (log: $datadir/postgres.log)"
    fi
  fi

  # wait until it accepts connections over TCP, then create the database if missing
  local i
  for ((i = 0; i < 300; i++)); do
    if "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres 2>/dev/null; then break; fi
    sleep 0.1
  done
  "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres \
    || die "PostgreSQL does not accept connections on 127.0.0.1:$port (log: $datadir/postgres.log)"
  local psql=psql
  [[ -x "$PGBIN/psql" ]] && psql="$PGBIN/psql"
  local exists
  exists=$("$psql" -X -q -At -h 127.0.0.1 -p "$port" -U postgres -d postgres \
    -c "SELECT 1 FROM pg_database WHERE datname = 'otelpg'")
  if [[ "$exists" != "1" ]]; then
    "$psql" -X -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 \
      -c "CREATE DATABASE otelpg" >/dev/null 2>"$datadir/.createdb.err" || {
        # a concurrent start may have created it meanwhile
        exists=$("$psql" -X -q -At -h 127.0.0.1 -p "$port" -U postgres -d postgres \
          -c "SELECT 1 FROM pg_database WHERE datname = 'otelpg'")
        [[ "$exists" == "1" ]] || { cat "$datadir/.createdb.err" >&2; die "could not create database otelpg"; }
      }
    rm -f "$datadir/.createdb.err"
  fi
  echo "$url"
}

cmd_stop() {
  local datadir=$1
  setup_user
  [[ -d "$datadir" ]] || { log "$datadir does not exist; nothing to stop"; return 0; }
  datadir=$(cd "$datadir" && pwd -P)
  has_cluster "$datadir" || { log "no cluster in $datadir; nothing to stop"; return 0; }
  if is_running "$datadir"; then
    pgctl stop -D "$datadir" -m fast -w -t 60 >/dev/null
    log "stopped PostgreSQL in $datadir"
  else
    log "PostgreSQL in $datadir is not running"
  fi
}

cmd_status() {
  local datadir=$1
  setup_user
  if [[ ! -d "$datadir" ]] || ! has_cluster "$datadir"; then
    echo "no cluster in $datadir"; return 4
  fi
  datadir=$(cd "$datadir" && pwd -P)
  if is_running "$datadir"; then
    local port
    port=$(sed -n '4p' "$datadir/postmaster.pid" 2>/dev/null || true)
    echo "running (pid $(head -n1 "$datadir/postmaster.pid"), port ${port:-?}): postgresql://postgres@127.0.0.1:${port}/otelpg"
    return 0
  fi
  echo "not running ($datadir)"
  return 3
}

[[ $# -ge 1 ]] || usage
# Resolve DATADIR while the caller's directory is known, then leave it: pg_ctl
# run as another user fails when it cannot read (or no longer finds) its
# working directory.
if [[ $# -ge 2 ]]; then
  set -- "$1" "$(realpath -m -- "$2")" "${@:3}"
fi
cd /
case "$1" in
  start)  [[ $# -eq 3 ]] || usage; cmd_start "$2" "$3" ;;
  stop)   [[ $# -eq 2 ]] || usage; cmd_stop "$2" ;;
  status) [[ $# -eq 2 ]] || usage; cmd_status "$2" ;;
  -h|--help|help) usage ;;
  *) usage ;;
esac
