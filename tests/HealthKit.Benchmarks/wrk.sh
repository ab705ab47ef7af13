#!/usr/bin/env bash
# End-to-end throughput on Kestrel, measured with wrk against 127.0.0.1 only.
#
# Starts the benchmark app twice ("serve --mode healthkit" and "serve --mode plain": the same endpoints, with and
# without AddDeployHealth), then loads one target at a time, each for DURATION, in ROUNDS interleaved rounds
# (odd rounds in order, even rounds in reverse, so drift on a shared machine falls on every target alike):
#   /health on the HealthKit app        HealthKit's cached probe
#   /ping   on the HealthKit app        a bare MapGet endpoint in the same process
#   /hc     on the plain app            MapHealthChecks with the same trivial check
#   /       on the HealthKit app        a request that is not a probe, with HealthKit
#   /       on the plain app            the same request without HealthKit
# Prints a table of req/s and, for each pair compared, the ratio in every round and their median: the ratios
# the targets in docs/benchmarks.md are stated in. Both apps are stopped
# by PID on exit, whatever happens.
#
# --suite door compares instead the app with HealthKit and the same app with HealthKit's Kestrel connection door
# taken out ("serve --mode nodoor"), on / over keep-alive connections (the door sees only each connection's first
# request) and with "Connection: close" (a new connection, so the door, on every request).
#
# Usage: tests/HealthKit.Benchmarks/wrk.sh [--suite probe|door] [--duration 10s] [--connections 64] [--threads 2]
#        [--rounds 2] [--no-build]
set -euo pipefail

duration=10s
connections=64
threads=2
rounds=2
build=1
suite=probe
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration="$2"; shift 2 ;;
    --connections) connections="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --no-build) build=0; shift ;;
    --suite) suite="$2"; shift 2 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

cd "$(dirname "${BASH_SOURCE[0]}")"

if ! command -v wrk >/dev/null 2>&1; then
  echo "wrk is not installed: apt-get install -y wrk" >&2
  exit 1
fi

if [ "$build" -eq 1 ]; then
  dotnet build -c Release --nologo -v quiet HealthKit.Benchmarks.csproj
fi
dll="bin/Release/net10.0/HealthKit.Benchmarks.dll"

work="$(mktemp -d)"
pids=()
stop_apps() {
  for pid in "${pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap stop_apps EXIT

# Starts one app on a free loopback port and sets app_address once it accepts connections (30 s at most).
# Not run in a subshell: the PID has to reach stop_apps.
app_address=""
start_app() {
  local mode="$1" log="$work/$1.log" address
  # Server GC, as the Web SDK gives every ASP.NET Core app by default.
  DOTNET_gcServer=1 ASPNETCORE_ENVIRONMENT=Production dotnet "$dll" serve --mode "$mode" >"$log" 2>&1 &
  pids+=("$!")
  for _ in $(seq 300); do
    address="$(grep -m1 -o 'http://127\.0\.0\.1:[0-9]*' "$log" || true)"
    if [ -n "$address" ]; then
      app_address="$address"
      return 0
    fi
    sleep 0.1
  done
  echo "the $mode app did not start within 30 s:" >&2
  cat "$log" >&2
  return 1
}

start_app healthkit
healthkit="$app_address"
case "$suite" in
  probe)
    start_app plain
    plain="$app_address"
    names=("HealthKit /health" "bare MapGet /ping" "MapHealthChecks /hc" "/ with HealthKit" "/ without HealthKit")
    urls=("$healthkit/health" "$healthkit/ping" "$plain/hc" "$healthkit/" "$plain/")
    headers=("" "" "" "" "")
    ;;
  door)
    start_app nodoor
    nodoor="$app_address"
    names=("/ keep-alive, door" "/ keep-alive, no door" "/ new conn., door" "/ new conn., no door")
    urls=("$healthkit/" "$nodoor/" "$healthkit/" "$nodoor/")
    headers=("" "" "Connection: close" "Connection: close")
    ;;
  *) echo "unknown suite: $suite (probe or door)" >&2; exit 2 ;;
esac
declare -A results

# Runs wrk once and prints its req/s; any non-2xx answer or socket error fails the run.
load() {
  local url="$1" length="$2" header="$3" out
  if [ -n "$header" ]; then
    out="$(wrk -t"$threads" -c"$connections" -d"$length" -H "$header" "$url")"
  else
    out="$(wrk -t"$threads" -c"$connections" -d"$length" "$url")"
  fi
  if grep -q -E 'Non-2xx|Socket errors' <<<"$out"; then
    echo "wrk reported errors for $url:" >&2
    echo "$out" >&2
    return 1
  fi
  awk '/^Requests\/sec:/ { print $2 }' <<<"$out"
}

echo "wrk -t$threads -c$connections -d$duration, $rounds rounds, suite $suite; apps: ${urls[*]}"
for i in "${!urls[@]}"; do
  load "${urls[$i]}" 2s "${headers[$i]}" >/dev/null # warm-up: JIT, tiered compilation, connection pools
done

forward=("${!urls[@]}")
backward=()
for i in "${!urls[@]}"; do backward=("$i" "${backward[@]}"); done
for round in $(seq "$rounds"); do
  order=("${forward[@]}")
  if [ $((round % 2)) -eq 0 ]; then
    order=("${backward[@]}")
  fi
  for i in "${order[@]}"; do
    rps="$(load "${urls[$i]}" "$duration" "${headers[$i]}")"
    results["$i,$round"]="$rps"
    printf '  round %d  %-22s %10.0f req/s\n' "$round" "${names[$i]}" "$rps"
  done
done

mean() {
  local i="$1" sum=0
  for round in $(seq "$rounds"); do
    sum="$(awk -v a="$sum" -v b="${results[$i,$round]}" 'BEGIN { print a + b }')"
  done
  awk -v s="$sum" -v n="$rounds" 'BEGIN { printf "%.0f", s / n }'
}

echo
printf '| %-22s |' "target"
for round in $(seq "$rounds"); do printf ' %10s |' "round $round"; done
printf ' %10s |\n' "mean"
printf '|%s|' "------------------------"
for round in $(seq "$rounds"); do printf '%s|' "------------:"; done
printf '%s|\n' "-----------:"
declare -a means
for i in "${!urls[@]}"; do
  means[$i]="$(mean "$i")"
  printf '| %-22s |' "${names[$i]}"
  for round in $(seq "$rounds"); do printf ' %10.0f |' "${results[$i,$round]}"; done
  printf ' %10s |\n' "${means[$i]}"
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
verdict() { awk -v r="$1" -v lo="$2" -v hi="$3" 'BEGIN { print (r >= lo && r <= hi) ? "met" : "MISSED" }'; }

# The ratio of two targets in each round, then the median over the rounds. The two targets of a pair run one
# right after the other in every round, so a load change on a shared machine moves both; the ratio of the means
# would mix rounds measured minutes apart.
paired() {
  local a="$1" b="$2" list=()
  for round in $(seq "$rounds"); do
    list+=("$(ratio "${results[$a,$round]}" "${results[$b,$round]}")")
  done
  printf '%s\n' "${list[@]}" | sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) printf "%.3f", v[(NR + 1) / 2]; else printf "%.3f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
per_round() {
  local a="$1" b="$2" list=()
  for round in $(seq "$rounds"); do
    list+=("$(ratio "${results[$a,$round]}" "${results[$b,$round]}")")
  done
  echo "${list[*]}"
}

echo
if [ "$suite" = door ]; then
  keep_alive="$(paired 0 1)"
  new_connection="$(paired 2 3)"
  # The door cannot make a request cheaper: a ratio above 1 is noise, as is any within the rounds' spread.
  echo "| ratio (median of per-round ratios) | value | per round |"
  echo "|---|---:|---|"
  echo "| keep-alive: with the door ÷ without | $keep_alive | $(per_round 0 1) |"
  echo "| new connection per request: with the door ÷ without | $new_connection | $(per_round 2 3) |"
  echo
  echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine moves every figure)"
  exit 0
fi

probe_vs_bare="$(paired 0 1)"
probe_vs_hc="$(paired 0 2)"
with_vs_without="$(paired 3 4)"
echo "| ratio (median of per-round ratios) | value | per round | target | |"
echo "|---|---:|---|---|---|"
echo "| HealthKit /health ÷ bare MapGet /ping | $probe_vs_bare | $(per_round 0 1) | ≥ 0.90 | $(verdict "$probe_vs_bare" 0.90 1000) |"
echo "| HealthKit /health ÷ MapHealthChecks /hc | $probe_vs_hc | $(per_round 0 2) | > 1.00 | $(verdict "$probe_vs_hc" 1.000001 1000) |"
# Within 2% of the app without HealthKit: HealthKit cannot make a request cheaper, so a ratio above 1 is noise.
echo "| / with HealthKit ÷ / without | $with_vs_without | $(per_round 3 4) | ≥ 0.98 | $(verdict "$with_vs_without" 0.98 1000) |"
echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine moves every figure)"
