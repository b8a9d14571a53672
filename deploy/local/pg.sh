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

  if [[ "$data" != "$CB_ROOT/.data/postgres" ]]; then
    # So that a port clash met from another checkout can name the checkout this cluster belongs to.
    printf '%s\n' "$CB_ROOT" > "$(dirname "$data")/checkout" 2>/dev/null || true
  fi

  if cb_run_as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    cb_say "PostgreSQL already running on 127.0.0.1:${CB_PG_PORT} (reusing it)"
  else
    if cb_port_taken "$CB_PG_PORT"; then
      cb_die "port ${CB_PG_PORT} is taken by $(cb_port_holder "$CB_PG_PORT"); or pick another port with COMPUTEBANK_PG_PORT=..."
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

# Whether this checkout's cluster is running now (deploy/local/test stops only a cluster it started itself).
cb_postgres_running() {
  local bin data
  bin="$(cb_pg_bin)" || return 1
  data="$(cb_pg_data)"
  [[ -s "$data/PG_VERSION" ]] && cb_run_as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1
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

# Whether something accepts connections on 127.0.0.1:<port>.
cb_port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The pid of a process listening on TCP <port> (empty when it cannot be told: ss missing and /proc unreadable).
cb_listener_pid() {
  local port="$1" pid="" hex inode fd
  if command -v ss >/dev/null 2>&1; then
    pid="$(ss -Hltnp "sport = :${port}" 2>/dev/null | grep -o 'pid=[0-9]*' | head -n1 | cut -d= -f2 || true)"
  fi
  if [[ -z "$pid" ]]; then
    # /proc/net/tcp*: the local address ends in the port in hex, state 0A is LISTEN; the socket's inode leads to the
    # process that holds it.
    hex="$(printf '%04X' "$port")"
    inode="$(awk -v p=":$hex" '$4 == "0A" && substr($2, length($2) - 4) == p { print $10; exit }' /proc/net/tcp /proc/net/tcp6 2>/dev/null || true)"
    if [[ -n "$inode" ]]; then
      for fd in /proc/[0-9]*/fd/*; do
        if [[ "$(readlink "$fd" 2>/dev/null)" == "socket:[$inode]" ]]; then pid="${fd#/proc/}"; pid="${pid%%/*}"; break; fi
      done
    fi
  fi
  echo "$pid"
}

# Says who holds <port> and how to free it, in one phrase: another checkout's PostgreSQL (its data folder and the
# command that stops it), this project's API, or any other program (its pid and command line).
cb_port_holder() {
  local port="$1" pid cmd data checkout
  pid="$(cb_listener_pid "$port")"
  if [[ -z "$pid" ]]; then echo "another program (its process could not be found: run 'ss -ltnp' as root to see it); stop it"; return; fi
  cmd="$(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null || true)"; cmd="${cmd% }"
  if [[ "$(cat "/proc/$pid/comm" 2>/dev/null || true)" == postgres* ]]; then
    # A postmaster runs in its data folder and names it with -D.
    data="$(readlink "/proc/$pid/cwd" 2>/dev/null || true)"
    if [[ -z "$data" && "$cmd" =~ -D\ ([^ ]+) ]]; then data="${BASH_REMATCH[1]}"; fi
    checkout=""
    if [[ "$data" == */.data/postgres ]]; then checkout="${data%/.data/postgres}"
    elif [[ -n "$data" && -s "$(dirname "$data")/checkout" ]]; then checkout="$(cat "$(dirname "$data")/checkout")"; fi
    if [[ -n "$checkout" && -x "$checkout/deploy/local/stop" ]]; then
      echo "the PostgreSQL of another checkout (pid $pid, data folder $data); stop it with: COMPUTEBANK_PG_PORT=$port $checkout/deploy/local/stop"
    elif [[ -n "$data" ]]; then
      local owner prefix=""
      owner="$(stat -c %U "$data" 2>/dev/null || echo postgres)"
      if [[ "$owner" != "$(id -un)" ]]; then prefix="runuser -u $owner -- "; fi
      echo "another PostgreSQL (pid $pid, data folder $data); stop it with: ${prefix}$(dirname "$(readlink "/proc/$pid/exe" 2>/dev/null || echo "/usr/lib/postgresql/${CB_PG_VERSION}/bin/postgres")")/pg_ctl -D $data -m fast stop"
    else
      echo "another PostgreSQL (pid $pid: $cmd); stop it"
    fi
    return
  fi
  echo "pid $pid ($cmd); stop it"
}

# A SHA-1 of the build inputs under the given paths (relative to the checkout): every source, project, props, targets,
# SQL and JSON file outside bin/ and obj/, the root build files, and the SDK's version.
cb_inputs_hash() {
  local extra=() f
  for f in Directory.Build.props Directory.Packages.props global.json NuGet.config nuget.config .editorconfig; do
    if [[ -f "$CB_ROOT/$f" ]]; then extra+=("$f"); fi
  done
  {
    dotnet --version
    (cd "$CB_ROOT" && find "$@" "${extra[@]}" \( -name bin -o -name obj \) -prune -o -type f \( -name '*.cs' -o -name '*.csproj' \
      -o -name '*.props' -o -name '*.targets' -o -name '*.sql' -o -name '*.json' -o -name '*.resx' -o -name '.editorconfig' \) -print0 \
      | LC_ALL=C sort -z | xargs -0 -r sha1sum)
  } | sha1sum | cut -c1-40
}

# Builds <project> in Release unless its inputs (the paths after <dll>) and <dll> itself are what they were after the
# last build by these scripts: `dotnet build` takes 8-30 s even when nothing changed, hashing the sources well under
# one. The stamp lives in .data/build-stamps/ (git-ignored); deleting it forces a build.
cb_build_once() {
  local project="$1" dll="$2"; shift 2
  local stamp want
  stamp="$CB_ROOT/.data/build-stamps/$(basename "$project" .csproj)"
  want="$(cb_inputs_hash "$@")"
  if [[ -f "$dll" && -f "$stamp" && "$(cat "$stamp")" == "$want $(stat -c '%s %Y' "$dll")" ]]; then return 0; fi
  cb_say "building $(basename "$project" .csproj) (sources changed since the last build, or never built)..."
  dotnet build "$project" -c Release -nologo -v quiet -clp:ErrorsOnly >&2 || cb_die "the build failed; the errors are above"
  [[ -f "$dll" ]] || cb_die "the build succeeded but $dll is missing"
  mkdir -p "$(dirname "$stamp")"
  printf '%s %s\n' "$want" "$(stat -c '%s %Y' "$dll")" > "$stamp"
}
