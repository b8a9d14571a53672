#!/usr/bin/env bash
# Shared helpers for deploy/ha: two PostgreSQL 15 instances (pg1, pg2) with streaming replication, one primary and
# one synchronous hot standby, and N ComputeBank service nodes, all on 127.0.0.1. Sourced by up, failover, rejoin,
# status and down. deploy/ha/README.md says how each step maps onto separate hosts.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../local/pg.sh"

HA_PORT_1="${COMPUTEBANK_HA_PORT_1:-55460}"
HA_PORT_2="${COMPUTEBANK_HA_PORT_2:-55461}"
HA_NODE_PORT="${COMPUTEBANK_HA_NODE_PORT:-5190}"   # service node i listens on HA_NODE_PORT + i
HA_REPL_USER="replicator"
HA_REPL_PASSWORD="${COMPUTEBANK_HA_REPL_PASSWORD:-computebank-replication}"

ha_say() { printf '\033[1m[computebank-ha]\033[0m %s\n' "$*" >&2; }

# Where the instances live: .data/ha in the checkout when the postgres account can enter it, else /var/tmp (as pg.sh).
ha_root() { echo "$(dirname "$(cb_pg_data)")/ha"; }

ha_port() { if [[ "$1" == pg1 ]]; then echo "$HA_PORT_1"; else echo "$HA_PORT_2"; fi; }
ha_other() { if [[ "$1" == pg1 ]]; then echo pg2; else echo pg1; fi; }
ha_data() { echo "$(ha_root)/$1"; }

ha_pg() { local bin; bin="$(cb_pg_bin)"; cb_run_as_owner "$bin/$1" "${@:2}"; }

ha_running() { [[ -s "$(ha_data "$1")/PG_VERSION" ]] && ha_pg pg_ctl -D "$(ha_data "$1")" status >/dev/null 2>&1; }

# psql as the ledger's owner against one instance; -X so no ~/.psqlrc interferes.
ha_psql() {
  local name="$1"; shift
  PGPASSWORD="$CB_PG_PASSWORD" PGOPTIONS="-c client_min_messages=warning" "$(cb_pg_bin)/psql" -X -h 127.0.0.1 -p "$(ha_port "$name")" -U "$CB_PG_USER" -d postgres \
    -v ON_ERROR_STOP=1 -qAt "$@"
}

# "primary", "standby", or "down".
ha_role() {
  if ! ha_running "$1"; then echo down; return; fi
  case "$(ha_psql "$1" -c 'SELECT pg_is_in_recovery()' 2>/dev/null || echo '?')" in
    f) echo primary ;;
    t) echo standby ;;
    *) echo down ;;
  esac
}

ha_find() { local n; for n in pg1 pg2; do if [[ "$(ha_role "$n")" == "$1" ]]; then echo "$n"; return 0; fi; done; return 1; }

ha_start() {
  local name="$1" data log
  data="$(ha_data "$name")"; log="$(ha_root)/$name.log"
  touch "$log"; if [[ $(id -u) -eq 0 ]]; then chown "$(cb_pg_owner)" "$log"; fi
  ha_pg pg_ctl -D "$data" -l "$log" -o "-p $(ha_port "$name")" -w -t 60 start >/dev/null \
    || { tail -n 20 "$log" >&2; cb_die "$name did not start; the log above says why"; }
}

# Settings both instances share (the standby gets them with the base backup). synchronous_standby_names is set per
# primary with ALTER SYSTEM, naming the other instance, once it streams.
ha_configure_primary() {
  cat >> "$(ha_data pg1)/postgresql.conf" <<CONF
# ComputeBank HA settings (deploy/ha)
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
max_connections = 300
shared_buffers = 256MB
max_locks_per_transaction = 256
wal_level = replica
max_wal_senders = 10
max_replication_slots = 10
max_slot_wal_keep_size = 2GB
wal_log_hints = on
hot_standby = on
hot_standby_feedback = on
synchronous_commit = on
CONF
  cat >> "$(ha_data pg1)/pg_hba.conf" <<HBA
host replication ${HA_REPL_USER} 127.0.0.1/32 scram-sha-256
HBA
}

# Makes <name> a streaming standby of <primary>: a fresh base backup (-R writes standby.signal and primary_conninfo
# with application_name=<name>, -C -S creates the replication slot on the primary).
ha_clone() {
  local name="$1" primary="$2" data owner
  data="$(ha_data "$name")"; owner="$(cb_pg_owner)"
  rm -rf "$data"; mkdir -p "$data"; chmod 700 "$data"
  if [[ $(id -u) -eq 0 ]]; then chown "$owner" "$data"; fi
  ha_psql "$primary" -c "SELECT pg_drop_replication_slot('$name') FROM pg_replication_slots WHERE slot_name = '$name'" >/dev/null
  ha_pg pg_basebackup -D "$data" -X stream -C -S "$name" -R --checkpoint=fast \
    -d "host=127.0.0.1 port=$(ha_port "$primary") user=${HA_REPL_USER} password=${HA_REPL_PASSWORD} application_name=${name}" \
    || cb_die "pg_basebackup of $name from $primary failed"
}

# On <primary>: wait for the named standby (synchronous_commit=on: a commit returns once it is flushed there too).
ha_require_sync() {
  local primary="$1" standby="$2"
  ha_psql "$primary" -c "ALTER SYSTEM SET synchronous_standby_names = 'FIRST 1 (${standby})'" -c "SELECT pg_reload_conf()" >/dev/null
}

ha_wait_sync() {
  local primary="$1" standby="$2" i state
  for i in $(seq 1 60); do
    state="$(ha_psql "$primary" -c "SELECT sync_state FROM pg_stat_replication WHERE application_name = '${standby}'" 2>/dev/null || true)"
    if [[ "$state" == sync ]]; then return 0; fi
    sleep 0.5
  done
  cb_die "$standby did not become the synchronous standby of $primary (sync_state: '${state:-none}')"
}

# The service's two connection strings: writes to whichever host is the primary, stale-tolerant reads preferring a standby.
# Host Recheck Seconds=2: after a failover Npgsql re-asks a host it saw as a standby within 2 s (its default is 10).
ha_connection_string() {
  echo "Host=127.0.0.1:${HA_PORT_1},127.0.0.1:${HA_PORT_2};Username=${CB_PG_USER};Password=${CB_PG_PASSWORD};Database=${CB_PG_DB};Target Session Attributes=$1;Host Recheck Seconds=2;Timeout=5;Keepalive=10"
}

ha_node_pids() { ls "$(ha_root)"/node*.pid 2>/dev/null || true; }

ha_port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The timeline an instance's data folder is on (each promotion starts a new one).
ha_timeline() { ha_pg pg_controldata -D "$(ha_data "$1")" | sed -nE "s/^Latest checkpoint's TimeLineID: +([0-9]+)$/\1/p"; }
