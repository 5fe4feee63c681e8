#!/bin/bash
# bench/tlsmgr_bench.sh - tlsmgr cache throughput: a stand-alone tlsmgr
# (PFTLS_LISTEN) in a throwaway directory, driven by build/bench/tlsmgr_bench
# from 2 client processes, one request at a time (tlsproxy's pattern) and
# pipelined (16 in flight per client: the server's capacity). Prints
# requests/s and tlsmgr's CPU time per request (utime+stime from /proc),
# the median of REPEAT runs (default 3). Issue 10's goal: >= 50,000
# requests/s from 2 clients. TLSMGR=path runs another tlsmgr binary
# (default build/bin/tlsmgr), e.g. to compare two builds back to back.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
tlsmgr=${TLSMGR:-$top/build/bin/tlsmgr}
pairs=${PAIRS:-20000}
repeat=${REPEAT:-3}
T=$(mktemp -d /tmp/pftls-tlsmgr-bench.XXXXXX)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$T"; }
trap cleanup EXIT
cat > "$T/main.cf" <<CF
data_directory = $T
smtpd_tls_session_cache_database = sqlite:$T/smtpd_scache.sqlite
tls_random_exchange_name = $T/prng_exch
CF
( cd "$T" && MAIL_CONFIG=$T PFTLS_LISTEN=unix:$T/tlsmgr exec "$tlsmgr" 2>"$T/log" ) &
pid=$!
for _ in $(seq 100); do [ -S "$T/tlsmgr" ] && break; sleep 0.05; done
[ -S "$T/tlsmgr" ] || { echo "tlsmgr did not start"; cat "$T/log"; exit 1; }
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
hz=$(getconf CLK_TCK)
for window in 1 16; do
  results=()
  for _ in $(seq "$repeat"); do
    a=$(ticks)
    line=$("$top/build/bench/tlsmgr_bench" -c 2 -n "$pairs" -w "$window" "$T/tlsmgr")
    b=$(ticks)
    rps=${line##*requests/s=}
    reqs=$(sed 's/.* requests=\([0-9]*\).*/\1/' <<<"$line")
    us=$(( (b - a) * 1000000 / hz / reqs ))
    results+=("$rps $us")
  done
  med=$(printf '%s\n' "${results[@]}" | sort -n | sed -n "$(( (repeat + 1) / 2 ))p")
  echo "tlsmgr: 2 clients, window $window: requests/s=${med% *} (median of $repeat), tlsmgr CPU per request ${med#* } us"
done
