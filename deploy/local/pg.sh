#!/usr/bin/env bash
# Shared helpers for deploy/local: a real PostgreSQL 15 in a git-ignored folder of the checkout.
# Sourced by `postgres`, `run`, `test`, `stop` and `cli`. Everything here is idempotent.
set -euo pipefail

CB_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CB_PG_PORT="${COMPUTEBANK_PG_PORT:-55432}"
CB_PG_USER="computebank"
CB_PG_PASSWORD="${COMPUTEBANK_PG_PASSWORD:-computebank-local}"
CB_PG_DB="computebank"
CB_PG_VERSION="15"

cb_say() { printf '\033[1m[computebank]\033[0m %s\n' "$*" >&2; }
cb_die() { printf '\033[1;31m[computebank] error:\033[0m %s\n' "$*" >&2; exit 1; }

cb_pg_bin() {
  local d
  for d in "/usr/lib/postgresql/${CB_PG_VERSION}/bin" /usr/lib/postgresql/*/bin; do
    if [[ -x "$d/initdb" && -x "$d/pg_ctl" ]]; then echo "$d"; return 0; fi
  done
  return 1
}

cb_as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo "$@"
  else cb_die "PostgreSQL ${CB_PG_VERSION} is not installed and installing it needs root. Run as root, or install it first: sudo apt-get install -y postgresql postgresql-contrib"
  fi
}

cb_install_postgres() {
  if cb_pg_bin >/dev/null; then return 0; fi
  command -v apt-get >/dev/null 2>&1 || cb_die "PostgreSQL is missing and this is not a Debian/Ubuntu machine: install PostgreSQL ${CB_PG_VERSION} and put its bin folder under /usr/lib/postgresql/${CB_PG_VERSION}/bin."
  cb_say "installing PostgreSQL from Debian's packages (once per machine)..."
  cb_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  cb_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql postgresql-contrib >/dev/null
  cb_pg_bin >/dev/null || cb_die "apt-get finished but no PostgreSQL binaries were found under /usr/lib/postgresql."
}

# Who runs the server: PostgreSQL refuses to run as root, so root uses the `postgres` account.
cb_pg_owner() { if [[ $(id -u) -eq 0 ]]; then echo postgres; else id -un; fi; }

cb_run_as_owner() {
  local owner; owner="$(cb_pg_owner)"
  if [[ "$owner" == "$(id -un)" ]]; then "$@"; else (cd / && runuser -u "$owner" -- "$@"); fi
}

# The data folder lives in the checkout (.data/postgres) when the server's account can reach it; a clone under a
# folder only root may enter falls back to /var/tmp, keyed by the checkout's path, and says so.
cb_pg_data() {
  local owner preferred key
  owner="$(cb_pg_owner)"
  preferred="$CB_ROOT/.data/postgres"
  mkdir -p "$CB_ROOT/.data"
  if [[ "$owner" == "$(id -un)" ]] || runuser -u "$owner" -- test -x "$CB_ROOT/.data" 2>/dev/null; then
    echo "$preferred"; return
  fi
  key="$(printf '%s' "$CB_ROOT" | sha1sum | cut -c1-12)"
  echo "/var/tmp/computebank-${key}/postgres"
}

cb_connection_string() {
  local db="${1:-$CB_PG_DB}"
  echo "Host=127.0.0.1;Port=${CB_PG_PORT};Username=${CB_PG_USER};Password=${CB_PG_PASSWORD};Database=${db}"
}

cb_psql() {
  local bin; bin="$(cb_pg_bin)"
  PGPASSWORD="$CB_PG_PASSWORD" "$bin/psql" -h 127.0.0.1 -p "$CB_PG_PORT" -U "$CB_PG_USER" -v ON_ERROR_STOP=1 -qAt "$@"
}

cb_postgres_up() {
  cb_install_postgres
  local bin data owner log
  bin="$(cb_pg_bin)"; data="$(cb_pg_data)"; owner="$(cb_pg_owner)"; log="$(dirname "$data")/postgres.log"
  if [[ "$data" != "$CB_ROOT/.data/postgres" ]]; then
    cb_say "the '$owner' account cannot enter $CB_ROOT, so the cluster lives in $data instead"
  fi
  mkdir -p "$(dirname "$data")"
  if [[ $(id -u) -eq 0 ]]; then chown "$owner" "$(dirname "$data")"; fi

  if [[ ! -s "$data/PG_VERSION" ]]; then
    cb_say "creating a PostgreSQL cluster in $data"
    local pwfile; pwfile="$(mktemp)"; printf '%s\n' "$CB_PG_PASSWORD" > "$pwfile"; chmod 644 "$pwfile"
    cb_run_as_owner "$bin/initdb" -D "$data" -U "$CB_PG_USER" --pwfile="$pwfile" -A scram-sha-256 -E UTF8 --locale=C.UTF-8 >/dev/null \
      || { rm -f "$pwfile"; cb_die "initdb failed for $data"; }
    rm -f "$pwfile"
    cat >> "$data/postgresql.conf" <<CONF
# ComputeBank local settings
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
max_connections = 400
shared_buffers = 256MB
max_locks_per_transaction = 256
CONF
  fi

  if cb_run_as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    cb_say "PostgreSQL already running on 127.0.0.1:${CB_PG_PORT} (reusing it)"
  else
    if (exec 3<>"/dev/tcp/127.0.0.1/${CB_PG_PORT}") 2>/dev/null; then
      cb_die "port ${CB_PG_PORT} is taken by another program; stop it or pick another port with COMPUTEBANK_PG_PORT=..."
    fi
    cb_say "starting PostgreSQL on 127.0.0.1:${CB_PG_PORT} (log: $log)"
    touch "$log"; if [[ $(id -u) -eq 0 ]]; then chown "$owner" "$log"; fi
    cb_run_as_owner "$bin/pg_ctl" -D "$data" -l "$log" -o "-p ${CB_PG_PORT}" -w -t 60 start >/dev/null \
      || { tail -n 20 "$log" >&2; cb_die "PostgreSQL did not start; the log above says why"; }
  fi

  if [[ "$(cb_psql -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '${CB_PG_DB}'")" != "1" ]]; then
    cb_psql -d postgres -c "CREATE DATABASE ${CB_PG_DB}" >/dev/null
    cb_say "created database ${CB_PG_DB}"
  fi
}

cb_postgres_down() {
  local bin data
  bin="$(cb_pg_bin)" || { cb_say "PostgreSQL is not installed; nothing to stop"; return 0; }
  data="$(cb_pg_data)"
  if [[ -s "$data/PG_VERSION" ]] && cb_run_as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    cb_run_as_owner "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null
    cb_say "PostgreSQL stopped"
  else
    cb_say "PostgreSQL is not running"
  fi
}

cb_require_dotnet() {
  command -v dotnet >/dev/null 2>&1 || cb_die "the .NET SDK 10 is needed (dotnet not found on PATH); see https://dot.net"
}

# Debian's chromium for the API reference's browser test (Playwright drives it; it never downloads a browser).
cb_install_chromium() {
  [[ -x /usr/bin/chromium ]] && return 0
  if [[ $(id -u) -ne 0 ]] && ! sudo -n true 2>/dev/null; then cb_say "chromium is missing and installing it needs root: the browser test will skip (CI=true fails)"; return 0; fi
  cb_say "installing chromium from Debian's packages (once per machine)..."
  local sudo=""; [[ $(id -u) -eq 0 ]] || sudo=sudo
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
}
