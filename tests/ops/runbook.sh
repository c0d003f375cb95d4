#!/usr/bin/env bash
# runbook.sh SOURCE_DIR — runs the procedures of docs/operations.md with the same
# processes Compose runs (redis-server with deploy/redis.conf and the ACL from
# deploy/make-secrets; the three services with CURVE, each as its own Redis user),
# started directly because CI has no Docker engine. Each section of the runbook has
# a function here of the same name; a failed check says which and exits 1.
#
# Needs LS_TEST_REGISTRY, LS_TEST_MATCHING, LS_TEST_NOTIFICATION and LS_TEST_CTL
# (the binaries; ctest sets them), redis-server, redis-cli, jq and curl.
set -euo pipefail

ROOT=$(cd "${1:?usage: runbook.sh SOURCE_DIR}" && pwd)
CTL=${LS_TEST_CTL:?}
declare -A BIN=([registry]=${LS_TEST_REGISTRY:?} [matching]=${LS_TEST_MATCHING:?}
  [notification]=${LS_TEST_NOTIFICATION:?})
T=$(mktemp -d "${TMPDIR:-/tmp}/lodestone-runbook.XXXXXX")
S=$T/secrets
declare -A PID=() # process name -> pid

# --- plumbing -------------------------------------------------------------------

section() { printf '\n== %s\n' "$*"; }
note() { printf '   %s\n' "$*"; }
fail() {
  printf 'runbook.sh: FAILED: %s\n' "$*" >&2
  for log in "$T"/*.log; do
    [[ -f $log ]] || continue
    printf -- '--- %s (last lines)\n' "${log##*/}" >&2
    tail -n 15 "$log" >&2
  done
  exit 1
}

cleanup() {
  local name
  for name in "${!PID[@]}"; do
    kill -KILL "${PID[$name]}" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  rm -rf -- "$T"
}
trap cleanup EXIT

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
declare -A TAKEN=()
# Below the kernel's ephemeral range (from 32768 by default), from which the other
# tests' ports and every outgoing connection's come: a port stays ours while the
# services using it restart.
EPHEMERAL_LOW=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
((EPHEMERAL_LOW > 12000)) || EPHEMERAL_LOW=32768
free_port() {
  local p
  while :; do
    p=$((EPHEMERAL_LOW - 10000 + RANDOM % 9999))
    [[ -z ${TAKEN[$p]:-} ]] && port_free "$p" && break
  done
  TAKEN[$p]=1
  printf '%s' "$p"
}

# Waits up to $1 seconds for the command that follows to succeed.
eventually() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

RP=$(free_port) # Redis
declare -A PORT=([registry]=$(free_port) [registry_pub]=$(free_port) [matching]=$(free_port)
  [notification]=$(free_port) [notification_pull]=$(free_port) [notification_pub]=$(free_port)
  [registry_http]=$(free_port) [matching_http]=$(free_port) [notification_http]=$(free_port))

# The environment of docker-compose.yml's x-lodestone-environment, on loopback ports.
export LODESTONE_LOG_LEVEL=info LODESTONE_DATA_DIR=$ROOT/data LODESTONE_HEARTBEAT_MS=500
for name in registry registry_pub matching notification notification_pull notification_pub; do
  var=LODESTONE_${name^^}
  export "${var}_BIND=tcp://127.0.0.1:${PORT[$name]}" "${var}_ENDPOINT=tcp://127.0.0.1:${PORT[$name]}"
done
for name in registry matching notification; do
  var=LODESTONE_${name^^}_HTTP
  export "${var}_BIND=127.0.0.1:${PORT[${name}_http]}" \
    "${var}_ENDPOINT=http://127.0.0.1:${PORT[${name}_http]}"
done
export LODESTONE_MATCHING_PARTITION_INDEX=auto LODESTONE_MATCHING_PARTITIONS=1
export LODESTONE_MATCHING_LEASE_MS=2000 # 10000 in Compose: shorter, so takeovers are quick here
export LODESTONE_SECURITY=curve LODESTONE_SERVER_SECRET_KEY=$S/server.key_secret
export LODESTONE_SERVER_PUBLIC_KEY=$S/server.key LODESTONE_PUBLISHER_KEYS=$S/publishers
export LODESTONE_CLIENT_SECRET_KEY=$S/clients/ops.key_secret
export LODESTONE_TIMEOUT_MS=3000
unset LODESTONE_REDIS_URL LODESTONE_REDIS_PASSWORD_FILE LODESTONE_PUBLISHER

# redis-cli as admin, the password in the environment as in the runbook.
rcli() { REDISCLI_AUTH=$(cat "$S/redis-admin.password") redis-cli --user admin -p "$RP" "$@"; }

# True once no AOF rewrite runs or waits (polls INFO persistence for 60 s).
aof_rewritten() {
  local deadline=$((SECONDS + 60)) info
  while ((SECONDS < deadline)); do
    info=$(rcli INFO persistence | tr -d '\r')
    if grep -qx 'aof_rewrite_in_progress:0' <<<"$info" &&
      grep -qx 'aof_rewrite_scheduled:0' <<<"$info" && grep -qx 'aof_enabled:1' <<<"$info"; then
      return 0
    fi
    sleep 0.2
  done
  return 1
}

# start_redis [ARG...]: extra arguments (--appendonly no) go after the config file.
start_redis() {
  mkdir -p "$T/redis"
  # deploy/redis.conf with this machine's paths and port in place of the container's.
  sed -e "s|^dir .*|dir $T/redis|" -e "s|^aclfile .*|aclfile $S/users.acl|" \
    -e "s|^port .*|port $RP|" -e "s|^bind .*|bind 127.0.0.1|" \
    "$ROOT/deploy/redis.conf" >"$T/redis.conf"
  redis-server "$T/redis.conf" --daemonize no "$@" >>"$T/redis.log" 2>&1 &
  PID[redis]=$!
  eventually 20 bash -c "[[ \$(REDISCLI_AUTH=\$(cat '$S/redis-health.password') redis-cli \
    --user health -p $RP ping) == PONG ]]" || fail "redis did not start"
  eventually 20 bash -c "! REDISCLI_AUTH=\$(cat '$S/redis-admin.password') redis-cli --user admin \
    -p $RP INFO persistence | grep -q '^loading:1'" || fail "redis did not load its data"
}

stop_redis() {
  rcli SHUTDOWN >/dev/null 2>&1 || true
  wait "${PID[redis]}" 2>/dev/null || true
  unset 'PID[redis]'
}

# start NAME [PROCESS-NAME [VAR=VALUE...]]: one service as Compose starts it, with its
# own Redis user; waits until it answers ping as the health check does.
start() {
  local name=$1 proc=${2:-$1}
  shift $(($# > 1 ? 2 : 1))
  env LODESTONE_REDIS_URL="redis://$name@127.0.0.1:$RP/0" \
    LODESTONE_REDIS_PASSWORD_FILE="$S/redis-$name.password" "$@" \
    "${BIN[$name]}" >>"$T/$proc.log" 2>&1 &
  PID[$proc]=$!
}

healthy() { "$CTL" ping "$1" >/dev/null 2>&1; }

start_all() {
  local name
  for name in registry matching notification; do
    start "$name"
    eventually 60 healthy "$name" || fail "$name did not answer ping"
  done
}

# SIGTERM, as docker compose stop: exit 0 within the 15 s grace period.
stop() {
  local proc=$1 pid=${PID[$1]} status=0 started=$SECONDS
  kill -TERM "$pid"
  wait "$pid" || status=$?
  unset "PID[$proc]"
  ((status == 0)) || fail "$proc exited $status on SIGTERM"
  ((SECONDS - started <= 15)) || fail "$proc took $((SECONDS - started)) s to stop"
}

# Some SMEs and opportunities: the demo data, its refs suffixed with $1.
entities() {
  jq --arg s "$1" '[.[] | (.sme // .opportunity // .investor).ref += $s]' "$2"
}

count_entities() { "$CTL" list --all 2>/dev/null | wc -l; }

caught_up() { "$CTL" wait --timeout 120 >/dev/null 2>&1; }

# --- the runbook's sections -------------------------------------------------------

first_start() {
  section "first start: make-secrets, Redis with the ACL, the services with CURVE"
  LODESTONECTL=$CTL "$ROOT/deploy/make-secrets" "$S" >/dev/null
  LODESTONECTL=$CTL "$ROOT/deploy/make-secrets" "$S" >/dev/null # again: changes nothing
  [[ $(stat -c %a "$S") == 700 ]] || fail "secrets directory is not mode 700"
  start_redis
  [[ $(redis-cli -p "$RP" ping 2>&1) == *NOAUTH* ]] || fail "Redis answers without a login"
  start_all
  # Ready once each has ticked and caught up (a second or so after it answers ping).
  eventually 30 bash -c "'$CTL' status >'$T/status.txt'" ||
    fail "lodestonectl status: $(cat "$T/status.txt")"
  note "three services healthy: $(grep -c ' ok ' "$T/status.txt") ok lines"
  for name in registry matching notification; do
    grep -q '"CURVE: clients must hold a key' "$T/$name.log" || fail "$name did not start with CURVE"
  done
}

stop_and_start() {
  section "start and stop: SIGTERM ends each service with status 0 within 15 s"
  "$CTL" put "$ROOT/data/demo/smes.json" "$ROOT/data/demo/opportunities.json" >/dev/null ||
    fail "demo data not loaded"
  caught_up || fail "not caught up after loading"
  local before
  before=$(rcli XLEN ls:journal:matches)
  for name in notification matching registry; do
    stop "$name"
  done
  start_all
  caught_up || fail "not caught up after the restart"
  [[ $(rcli XLEN ls:journal:matches) == "$before" ]] || fail "a restart emitted match events again"
  note "$(count_entities) entities; $before match events, none repeated by the restart"
}

upgrade() {
  section "upgrade: every service restarted in turn while a publisher writes"
  local rounds=4 i expected
  for ((i = 1; i <= rounds; i++)); do
    entities "-up$i" "$ROOT/data/demo/smes.json" >"$T/up$i.json"
  done
  expected=$(($(count_entities) + rounds * $(jq length "$ROOT/data/demo/smes.json")))
  (
    # A regional system: retries a batch until every item is answered (same refs:
    # an item written before is answered "unchanged", never written twice).
    for ((i = 1; i <= rounds; i++)); do
      until "$CTL" put "$T/up$i.json" >/dev/null 2>>"$T/writer.log"; do sleep 0.3; done
      sleep 0.5
    done
  ) &
  local writer=$!
  for name in registry matching notification; do
    stop "$name"
    start "$name"
    eventually 60 healthy "$name" || fail "$name did not come back"
  done
  wait "$writer" || fail "the writer failed"
  caught_up || fail "not caught up after the upgrade"
  [[ $(count_entities) == "$expected" ]] || fail "$(count_entities) entities, expected $expected"
  # No inbox holds a notification twice.
  local id dups=0
  while read -r id; do
    if [[ -n $("$CTL" inbox "$id" --limit 1000 2>/dev/null | jq -r .id | sort | uniq -d) ]]; then
      dups=$((dups + 1))
    fi
  done < <("$CTL" list --all --kind sme 2>/dev/null | jq -r '.sme.id' | head -n 40)
  ((dups == 0)) || fail "$dups inboxes hold a notification twice"
  note "$expected entities, each once; no inbox holds a notification twice"
}

scale() {
  section "scale matching: three replicas with the same environment, and a standby"
  stop matching
  export LODESTONE_MATCHING_PARTITIONS=3
  local r ports=()
  for r in 0 1 2 3; do
    ports[r]=$(free_port)
    start matching "matching-$r" LODESTONE_MATCHING_BIND="tcp://127.0.0.1:${ports[r]}" \
      LODESTONE_MATCHING_HTTP_BIND=127.0.0.1:0
  done
  replica_state() { # the partition replica $1 holds ("standby" or the index)
    LODESTONE_MATCHING_ENDPOINT="tcp://127.0.0.1:${ports[$1]}" "$CTL" ping matching 2>/dev/null |
      jq -r 'if .standby then "standby" else (.instance // "0" | tostring) end'
  }
  held() { # the partitions held, sorted, one line
    local r
    for r in "$@"; do replica_state "$r"; done | sort | tr '\n' ' '
  }
  local want="0 1 2 standby "
  local deadline=$((SECONDS + 60))
  until [[ $(held 0 1 2 3) == "$want" ]]; do
    ((SECONDS < deadline)) || fail "replicas hold '$(held 0 1 2 3)', expected '$want'"
    sleep 0.5
  done
  note "replicas hold partitions: $(held 0 1 2 3)"
  # Kill a replica that holds a partition: the standby takes it over.
  local victim standby
  for r in 0 1 2 3; do
    [[ $(replica_state "$r") == standby ]] && standby=$r
  done
  victim=$(((standby + 1) % 4))
  local lost
  lost=$(replica_state "$victim")
  kill -KILL "${PID[matching-$victim]}"
  wait "${PID[matching-$victim]}" 2>/dev/null || true
  unset "PID[matching-$victim]"
  deadline=$((SECONDS + 30))
  until [[ $(replica_state "$standby") == "$lost" ]]; do
    ((SECONDS < deadline)) || fail "the standby did not take partition $lost over"
    sleep 0.5
  done
  note "replica $victim (partition $lost) killed; the standby took partition $lost over"
  # Every change is matched by the partitions together.
  entities "-scaled" "$ROOT/data/demo/opportunities.json" >"$T/scaled.json"
  LODESTONE_MATCHING_ENDPOINT="tcp://127.0.0.1:${ports[standby]}" "$CTL" put "$T/scaled.json" \
    >/dev/null || fail "put during scaling"
  for r in 0 1 2 3; do
    [[ $r == "$victim" ]] && continue
    LODESTONE_MATCHING_ENDPOINT="tcp://127.0.0.1:${ports[r]}" caught_up ||
      fail "replica $r did not catch up"
  done
  for r in 0 1 2 3; do
    [[ $r == "$victim" ]] || stop "matching-$r"
  done
  export LODESTONE_MATCHING_PARTITIONS=1
  start matching
  eventually 60 healthy matching || fail "matching did not come back with one partition"
  caught_up || fail "one partition did not catch up"
}

readers() {
  section "retired journal readers: listed and removed with redis-cli"
  rcli SMEMBERS ls:journal-readers:changes >"$T/readers.txt"
  note "readers of the change journal: $(tr '\n' ' ' <"$T/readers.txt")"
  grep -qx 'ls:checkpoint:matching:0-of-1' "$T/readers.txt" || fail "matching's reader is not listed"
  grep -q -- '-of-3$' "$T/readers.txt" && fail "the three-partition layout's readers are still listed"
  local retired=ls:checkpoint:retired-consumer
  rcli SADD ls:journal-readers:changes "$retired" >/dev/null
  rcli SREM ls:journal-readers:changes "$retired" | grep -qx 1 || fail "SREM removed nothing"
  rcli SMEMBERS ls:journal-readers:changes | grep -qx "$retired" &&
    fail "the retired reader is still listed"
  return 0
}

backup_and_restore() {
  section "back up Redis (RDB and AOF), wipe it, restore each"
  caught_up || fail "not caught up before the backup"
  local entities matches
  entities=$(count_entities)
  matches=$(rcli XLEN ls:journal:matches)
  rcli --rdb "$T/backup.rdb" >/dev/null 2>&1 || fail "redis-cli --rdb"
  rcli BGREWRITEAOF >/dev/null
  aof_rewritten || fail "the AOF rewrite did not end"
  cp -r "$T/redis/appendonlydir" "$T/backup.aof"
  note "backed up: $entities entities, $matches match events"

  restore() { # $1: rdb or aof
    for name in notification matching registry; do stop "$name"; done
    stop_redis
    rm -rf -- "$T/redis/appendonlydir" "$T/redis/dump.rdb"
    if [[ $1 == rdb ]]; then
      # With AOF on and no AOF yet, Redis would start empty: load the snapshot with
      # AOF off, then turn it on, which writes the AOF from what was loaded.
      cp "$T/backup.rdb" "$T/redis/dump.rdb"
      start_redis --appendonly no
      rcli CONFIG SET appendonly yes >/dev/null
      aof_rewritten || fail "the AOF was not written from the snapshot"
      stop_redis
    else
      cp -r "$T/backup.aof" "$T/redis/appendonlydir"
    fi
    start_redis
    start_all
    caught_up || fail "not caught up after restoring the $1 backup"
    [[ $(count_entities) == "$entities" ]] ||
      fail "$1 restore: $(count_entities) entities, expected $entities"
    [[ $(rcli XLEN ls:journal:matches) == "$matches" ]] ||
      fail "$1 restore: $(rcli XLEN ls:journal:matches) match events, expected $matches"
    note "$1 restored: $entities entities, $matches match events"
  }
  restore rdb
  [[ -d $T/redis/appendonlydir ]] || fail "no AOF written after loading the RDB"
  restore aof
}

keys() {
  section "publisher keys: add, rotate, revoke"
  LODESTONECTL=$CTL "$ROOT/deploy/make-secrets" "$S" lapland >/dev/null || fail "make-secrets lapland"
  [[ -f $S/publishers/lapland.key && -f $S/clients/lapland.key_secret ]] || fail "no lapland key"
  as() { LODESTONE_CLIENT_SECRET_KEY=$S/clients/$1.key_secret "${@:2}"; }
  jq '{sme: (.[0].sme | .ref = "keyed-sme")}' "$ROOT/data/demo/smes.json" >"$T/keyed.json"
  as lapland "$CTL" put "$T/keyed.json" >"$T/keyed.out" || fail "lapland cannot write"
  local id
  id=$(jq -r .id "$T/keyed.out")
  [[ $(as lapland "$CTL" get "$id" | jq -r .sme.owner) == lapland ]] || fail "owner is not lapland"
  # Rotate: a second key for the same publisher; both work until the old one goes.
  (cd "$S/clients" && "$CTL" keygen lapland --file lapland-2026-12 >/dev/null 2>&1) ||
    fail "keygen --file"
  mv "$S/clients/lapland-2026-12.key" "$S/publishers/"
  as lapland-2026-12 "$CTL" patch "$id" '{"sme": {"trl": 8}}' >/dev/null ||
    fail "the new key cannot change lapland's entity"
  as lapland "$CTL" ping registry >/dev/null || fail "the old key stopped before it was deleted"
  rm "$S/publishers/lapland.key"
  eventually 10 bash -c "! LODESTONE_CLIENT_SECRET_KEY='$S/clients/lapland.key_secret' \
    LODESTONE_TIMEOUT_MS=1000 '$CTL' ping registry" || fail "the deleted key still works"
  as lapland-2026-12 "$CTL" ping registry >/dev/null || fail "the new key stopped working"
  note "lapland's key rotated; the old one is refused"
}

metrics() {
  section "read the metrics: lodestonectl status, /healthz, every metric the runbook names"
  "$CTL" status >/dev/null || fail "lodestonectl status is not all healthy"
  local name all=""
  for name in registry matching notification; do
    curl -sf "http://127.0.0.1:${PORT[${name}_http]}/healthz" >/dev/null || fail "$name /healthz"
    all+=$(curl -sf "http://127.0.0.1:${PORT[${name}_http]}/metrics")$'\n'
  done
  local metric missing=()
  while read -r metric; do
    grep -q "^$metric\(_bucket\|_sum\|_count\)\?[{ ]" <<<"$all" || missing+=("$metric")
  done < <(grep -oh 'lodestone_[a-z_]*' "$ROOT/deploy/alerts.yml" "$ROOT/docs/operations.md" |
    grep -v '^lodestone_redis_up$\|^lodestone_ready$' | sort -u; printf '%s\n' lodestone_redis_up lodestone_ready)
  ((${#missing[@]} == 0)) || fail "not served: ${missing[*]}"
  note "every metric named in deploy/alerts.yml and docs/operations.md is served"
}

stop_everything() {
  section "stop: SIGTERM, as docker compose stop"
  for name in notification matching registry; do stop "$name"; done
  stop_redis
}

first_start
stop_and_start
upgrade
scale
readers
backup_and_restore
keys
metrics
stop_everything
printf '\nrunbook.sh: every procedure of docs/operations.md worked\n'
