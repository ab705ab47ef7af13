#!/usr/bin/env bash
# Dependency figures for docs/benchmarks.md ("Dependency figures (PostgreSQL, Redis)"), measured with wrk against
# 127.0.0.1 only.
#
# Starts a PostgreSQL 15 cluster and a Redis server of its own (temp directory, free loopback ports), then runs the
# app in tests/HealthKit.Benchmarks.Dependencies in two modes, the same binary each time:
#   healthkit     AddDeployHealth, the dependency discovered (NpgsqlDataSource / AddStackExchangeRedisCache): /health
#   healthchecks  MapHealthChecks("/hc") with AddNpgSql (AspNetCore.HealthChecks.NpgSql 3.0.0) / AddRedis (9.0.0)
# 1. PostgreSQL: wrk -tT -cC -dD against each app's endpoint, each app on a database of its own (and HealthKit once
#    more probed once a second for as long, to compare the database work at two probe rates); req/s and the
#    transactions its database committed (pg_stat_database.xact_commit), less what starting and stopping the app
#    costs without load (measured by an idle start and stop just before). Counts are read once the app has stopped
#    and no backend is left, because an idle backend may hold its counts for up to 10 s.
# 2. Redis frozen (SIGSTOP to its PID; SIGCONT always follows, also on error or interrupt): wrk --latency against
#    each endpoint while Redis hangs; p50, p90, p99, max, req/s, non-2xx and timeouts (wrk's own timeout is set to
#    30 s so that slow answers are measured rather than dropped; a request still unanswered when the run ends is
#    not counted at all), then three single probes one after another (curl -m 30), still frozen.
# Prints the machine, the commands and markdown tables. Every process it started is stopped by PID on exit.
#
# Usage: tests/HealthKit.Benchmarks/dependencies.sh [--duration 10s] [--connections 50] [--threads 2] [--no-build]
set -euo pipefail

duration=10s
connections=50
threads=2
build=1
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration="$2"; shift 2 ;;
    --connections) connections="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --no-build) build=0; shift ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
project="$here/../HealthKit.Benchmarks.Dependencies"

pgbin=/usr/lib/postgresql/15/bin
if [ ! -x "$pgbin/postgres" ] && command -v pg_config >/dev/null 2>&1; then
  pgbin="$(pg_config --bindir)"
fi
for tool in "$pgbin/postgres" "$pgbin/initdb" "$pgbin/pg_isready" "$pgbin/psql"; do
  [ -x "$tool" ] || { echo "$tool is missing: apt-get install -y postgresql" >&2; exit 1; }
done
for tool in wrk curl redis-server redis-cli python3; do
  command -v "$tool" >/dev/null 2>&1 || { echo "$tool is missing (apt-get install -y wrk curl redis-server)" >&2; exit 1; }
done

if [ "$build" -eq 1 ]; then
  dotnet build -c Release --nologo -v quiet "$project/HealthKit.Benchmarks.Dependencies.csproj"
fi
dll="$project/bin/Release/net10.0/HealthKit.Benchmarks.Dependencies.dll"

work="$(mktemp -d)"
chmod 755 "$work"
app_pids=()
pg_pid=""
redis_pid=""
redis_frozen=0

stop_pid() {
  local pid="$1" signal="$2"
  kill -"$signal" "$pid" 2>/dev/null || return 0
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
}

cleanup() {
  if [ "$redis_frozen" -eq 1 ] && [ -n "$redis_pid" ]; then
    kill -CONT "$redis_pid" 2>/dev/null || true
  fi
  for pid in "${app_pids[@]}"; do stop_pid "$pid" TERM; done
  [ -n "$redis_pid" ] && stop_pid "$redis_pid" TERM
  [ -n "$pg_pid" ] && stop_pid "$pg_pid" INT
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# PostgreSQL refuses to run as root: as root, the cluster belongs to the postgres user.
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_postgres() {
  mkdir "$work/pg"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$work/pg"
  as_pg "$pgbin/initdb" -D "$work/pg/data" -A trust -U postgres -E UTF8 --locale=C --no-sync >"$work/initdb.log" 2>&1
  pg_port="$(free_port)"
  as_pg "$pgbin/postgres" -D "$work/pg/data" -p "$pg_port" -k "$work/pg" \
    -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off >"$work/postgres.log" 2>&1 &
  for _ in $(seq 300); do
    if "$pgbin/pg_isready" -q -h 127.0.0.1 -p "$pg_port" -U postgres -t 1; then
      # Through runuser, $! is runuser, which forwards no SIGINT: the postmaster's PID is in postmaster.pid.
      pg_pid="$(head -n1 "$work/pg/data/postmaster.pid")"
      return 0
    fi
    sleep 0.1
  done
  echo "PostgreSQL did not start within 30 s:" >&2
  cat "$work/postgres.log" >&2
  return 1
}

sql() {
  "$pgbin/psql" -X -q -A -t -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres -v ON_ERROR_STOP=1 -c "$1"
}

# The database's committed transactions once none of its backends is left and two reads 0.5 s apart agree (15 s at most).
settled_commits() {
  local db="$1" last current
  last="$(sql "SELECT xact_commit FROM pg_stat_database WHERE datname = '$db'")"
  for _ in $(seq 30); do
    sleep 0.5
    current="$(sql "SELECT xact_commit FROM pg_stat_database WHERE datname = '$db'")"
    if [ "$current" = "$last" ] && [ "$(sql "SELECT count(*) FROM pg_stat_activity WHERE datname = '$db'")" = "0" ]; then
      echo "$current"
      return 0
    fi
    last="$current"
  done
  echo "xact_commit of $db did not settle within 15 s" >&2
  return 1
}

start_redis() {
  mkdir "$work/redis"
  redis_port="$(free_port)"
  redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --dir "$work/redis" >"$work/redis.log" 2>&1 &
  redis_pid="$!"
  wait_redis
}

wait_redis() {
  for _ in $(seq 300); do
    [ "$(redis-cli -h 127.0.0.1 -p "$redis_port" ping 2>/dev/null || true)" = "PONG" ] && return 0
    sleep 0.1
  done
  echo "Redis did not answer PING within 30 s" >&2
  return 1
}

# Starts the app on a free loopback port; sets app_address and app_pid once it accepts connections (30 s at most).
start_app() {
  local mode="$1" dependency="$2" connection="$3" log="$work/app-$1-$2.log" address
  DOTNET_gcServer=1 dotnet "$dll" --mode "$mode" --dependency "$dependency" --connection "$connection" >"$log" 2>&1 &
  app_pid="$!"
  app_pids+=("$app_pid")
  for _ in $(seq 300); do
    address="$(grep -m1 -o 'http://127\.0\.0\.1:[0-9]*' "$log" || true)"
    if [ -n "$address" ]; then
      app_address="$address"
      return 0
    fi
    kill -0 "$app_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "the $mode app did not start:" >&2
  cat "$log" >&2
  return 1
}

stop_app() {
  stop_pid "$app_pid" TERM
}

field() { awk -v key="$1" '$1 == key { print $2 }' <<<"$2"; }
count() { grep -o -E "$1 *[0-9]+" <<<"$2" | grep -o -E '[0-9]+$' || echo 0; }
timeouts() { grep -o -E 'timeout [0-9]+' <<<"$1" | grep -o -E '[0-9]+' || echo 0; }

start_postgres
start_redis

echo "## Machine"
echo "- CPU: $(lscpu | awk -F: '/Model name/ { gsub(/^ +/, "", $2); print $2; exit }'), $(nproc) cores; memory $(free -g | awk '/^Mem:/ { print $2 }') GiB; Linux $(uname -r)"
echo "- .NET $(dotnet --version), $("$pgbin/postgres" --version), $(redis-server --version | awk '{ print $1, $2, $3 }'), $(wrk -v 2>&1 | head -n1 | awk '{ print $1, $2 }')"
echo "- wrk -t$threads -c$connections -d$duration against 127.0.0.1; app with server GC, Production, warnings-only logging, no drain delay"
echo

declare -A rps non2xx commits startup
for mode in healthkit healthchecks; do
  db="bench_$mode"
  sql "CREATE DATABASE $db" >/dev/null
  cs="Host=127.0.0.1;Port=$pg_port;Username=postgres;Database=$db"
  path=/health
  [ "$mode" = healthchecks ] && path=/hc

  b0="$(settled_commits "$db")"
  start_app "$mode" postgres "$cs"
  sleep 1 # HealthKit's first evaluation runs as the app starts: let it finish, as it does in the loaded run
  stop_app
  b1="$(settled_commits "$db")"

  start_app "$mode" postgres "$cs"
  out="$(wrk -t"$threads" -c"$connections" -d"$duration" "$app_address$path")"
  stop_app
  b2="$(settled_commits "$db")"

  rps[$mode]="$(field 'Requests/sec:' "$out")"
  non2xx[$mode]="$(count 'Non-2xx or 3xx responses:' "$out")"
  startup[$mode]=$((b1 - b0))
  commits[$mode]=$(((b2 - b1) - (b1 - b0)))
done

# The same HealthKit app probed once a second for the same time, to show the database work does not follow the rate.
db=bench_healthkit_slow
sql "CREATE DATABASE $db" >/dev/null
cs="Host=127.0.0.1;Port=$pg_port;Username=postgres;Database=$db"
seconds="${duration%s}"
b0="$(settled_commits "$db")"
start_app healthkit postgres "$cs"
sleep 1
stop_app
b1="$(settled_commits "$db")"
start_app healthkit postgres "$cs"
slow_ok=0
for _ in $(seq "$seconds"); do
  [ "$(curl -s -o /dev/null -m 5 -w '%{http_code}' "$app_address/health" || true)" = "200" ] && slow_ok=$((slow_ok + 1))
  sleep 1
done
stop_app
b2="$(settled_commits "$db")"
startup[slow]=$((b1 - b0))
commits[slow]=$(((b2 - b1) - (b1 - b0)))

per_thousand() { awk -v c="$1" -v r="$2" -v d="$seconds" 'BEGIN { printf "%.4f", c / (r * d) * 1000 }'; }

echo "## PostgreSQL: throughput and database work"
echo "| app | endpoint | load | req/s | non-2xx | DB transactions in $duration | per 1,000 probes | (start and stop alone) |"
echo "|---|---|---|---:|---:|---:|---:|---:|"
echo "| HealthKit, NpgsqlDataSource discovered | /health | wrk -c$connections | ${rps[healthkit]} | ${non2xx[healthkit]} | ${commits[healthkit]} | $(per_thousand "${commits[healthkit]}" "${rps[healthkit]}") | ${startup[healthkit]} |"
echo "| HealthKit, NpgsqlDataSource discovered | /health | curl, 1 a second | 1 | $((seconds - slow_ok)) | ${commits[slow]} | $(per_thousand "${commits[slow]}" 1) | ${startup[slow]} |"
echo "| MapHealthChecks + AddNpgSql (3.0.0) | /hc | wrk -c$connections | ${rps[healthchecks]} | ${non2xx[healthchecks]} | ${commits[healthchecks]} | $(per_thousand "${commits[healthchecks]}" "${rps[healthchecks]}") | ${startup[healthchecks]} |"
echo
echo "HealthKit's database work at $(printf '%.0f' "${rps[healthkit]}") probes/s against 1 probe/s: ${commits[healthkit]} against ${commits[slow]} transactions, independent of the probe rate: $(awk -v a="${commits[healthkit]}" -v b="${commits[slow]}" 'BEGIN { d = a - b; if (d < 0) d = -d; print (d <= 2 || d <= 0.25 * b) ? "met" : "MISSED" }')"
echo

declare -A p50 p90 p99 pmax frozen_rps frozen_non2xx frozen_timeouts requests single
for mode in healthkit healthchecks; do
  path=/health
  [ "$mode" = healthchecks ] && path=/hc
  start_app "$mode" redis "127.0.0.1:$redis_port"
  wrk -t"$threads" -c"$connections" -d2s "$app_address$path" >/dev/null # warm-up with Redis answering

  kill -STOP "$redis_pid"
  redis_frozen=1
  out="$(wrk -t"$threads" -c"$connections" -d"$duration" --timeout 30s --latency "$app_address$path" || true)"
  # Then one probe at a time, as a balancer sends them, still frozen: what each single probe waits.
  single[$mode]=""
  for _ in 1 2 3; do
    single[$mode]+="$(curl -s -o /dev/null -m 30 -w '%{http_code} in %{time_total} s' "$app_address$path" || true); "
  done
  kill -CONT "$redis_pid"
  redis_frozen=0
  stop_app
  wait_redis

  requests[$mode]="$(grep -o -E '[0-9]+ requests in' <<<"$out" | grep -o -E '^[0-9]+' || echo 0)"
  if [ "${requests[$mode]}" = "0" ]; then
    out="none answered within the run" # wrk prints zeros for the percentiles then
  fi
  p50[$mode]="$(awk '$1 == "50%" { print $2 }' <<<"$out")"
  p90[$mode]="$(awk '$1 == "90%" { print $2 }' <<<"$out")"
  p99[$mode]="$(awk '$1 == "99%" { print $2 }' <<<"$out")"
  pmax[$mode]="$(awk '$1 == "Latency" { print $4; exit }' <<<"$out")"
  frozen_rps[$mode]="$(field 'Requests/sec:' "$out")"
  : "${p50[$mode]:=-}" "${p90[$mode]:=-}" "${p99[$mode]:=-}" "${pmax[$mode]:=-}" "${frozen_rps[$mode]:=0}"
  frozen_non2xx[$mode]="$(count 'Non-2xx or 3xx responses:' "$out")"
  frozen_timeouts[$mode]="$(timeouts "$out")"
done

echo "## Redis frozen (SIGSTOP) for the whole $duration run"
echo "| app | endpoint | p50 | p90 | p99 | max | requests | req/s | non-2xx (503) | timeouts |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
echo "| HealthKit, AddStackExchangeRedisCache discovered (2 s deadline) | /health | ${p50[healthkit]} | ${p90[healthkit]} | ${p99[healthkit]} | ${pmax[healthkit]} | ${requests[healthkit]} | ${frozen_rps[healthkit]} | ${frozen_non2xx[healthkit]} | ${frozen_timeouts[healthkit]} |"
echo "| MapHealthChecks + AddRedis (9.0.0) | /hc | ${p50[healthchecks]} | ${p90[healthchecks]} | ${p99[healthchecks]} | ${pmax[healthchecks]} | ${requests[healthchecks]} | ${frozen_rps[healthchecks]} | ${frozen_non2xx[healthchecks]} | ${frozen_timeouts[healthchecks]} |"
to_ms() { awk -v v="$1" 'BEGIN { if (v ~ /ms$/) print v + 0; else if (v ~ /us$/) print (v + 0) / 1000; else if (v ~ /s$/) print (v + 0) * 1000; else print "" }'; }
healthkit_p99_ms="$(to_ms "${p99[healthkit]}")"
echo
echo "HealthKit p99 ${p99[healthkit]} against the target of deadline + 250 ms = 2250 ms: $(awk -v p="$healthkit_p99_ms" 'BEGIN { print (p != "" && p <= 2250) ? "met" : "MISSED" }')"
echo
echo "Single probes after the run, Redis still frozen (curl -m 30, one at a time):"
echo "- HealthKit /health: ${single[healthkit]}"
echo "- MapHealthChecks /hc: ${single[healthchecks]}"
