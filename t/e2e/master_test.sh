#!/usr/bin/env bash
# master_test.sh - our master(8) supervising echosvc (t/tools/echosvc_main.cc)
# in a throwaway instance on 127.0.0.1: respawn after kill -9, throttling of
# a service that fails at start, growth of a maxproc 0 pool under load and
# max_idle retirement, SIGHUP reload without cutting a held connection,
# conditional wake-ups, the watchdog, the instance lock, a missing
# mail_owner, and SIGTERM stop. Needs root (master creates sockets owned by
# mail_owner and children drop privileges).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
MASTER=${MASTER:-$top/build/bin/master}
ECHOSVC=${ECHOSVC:-$top/build/t/bin/echosvc}
CLIENT=$top/t/e2e/echoclient.py

if [ "$(id -u)" -ne 0 ]; then echo "SKIP master_test: needs root"; exit 0; fi
id postfix >/dev/null 2>&1 || { echo "SKIP master_test: needs the 'postfix' user (Debian postfix package)"; exit 0; }
for f in "$MASTER" "$ECHOSVC"; do [ -x "$f" ] || { echo "FAIL: $f not built"; exit 1; }; done

T=$(mktemp -d /tmp/pftls-master.XXXXXX)
chmod 0755 "$T"
MPID=
bgpids=()
cleanup() {
  for p in "${bgpids[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ -n "$MPID" ] && kill -0 "$MPID" 2>/dev/null; then
    kill -TERM "$MPID" 2>/dev/null || true
    for _ in $(seq 1 80); do kill -0 "$MPID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$MPID" 2>/dev/null || true
  fi
  # Children of our instance only (their argv names our temp daemon_directory).
  for p in $(pgrep -f "^$T/libexec/" || true); do kill -KILL "$p" 2>/dev/null || true; done
  rm -rf "$T"
}
trap cleanup EXIT
fails=0
pass() { echo "ok - $*"; }
fail() { echo "not ok - $*"; fails=$((fails + 1)); }
# wait_for SECONDS CMD... - poll CMD every 0.1 s until it succeeds.
wait_for() {
  local limit=$1; shift
  local end=$((SECONDS + limit))
  while ! "$@" >/dev/null 2>&1; do
    [ $SECONDS -ge $end ] && return 1
    sleep 0.1
  done
}
log_has() { grep -q -- "$1" "$T/master.log"; }
log_count() { grep -c -- "$1" "$T/master.log" || true; }

base=$((20000 + RANDOM % 20000))
P1=$base; P2=$((base + 1)); P3=$((base + 2)); P4=$((base + 3))
mkdir -p "$T/etc" "$T/libexec"
cp "$ECHOSVC" "$T/libexec/echosvc"
cat > "$T/etc/main.cf" <<CF
queue_directory = $T/q
data_directory = $T/data
daemon_directory = $T/libexec
mail_owner = postfix
echosvc_param = one
p3_fail = no
service_throttle_time = 3s
max_idle = 100s
CF
cat > "$T/etc/master.cf" <<CF
# service type private unpriv chroot wakeup maxproc command
127.0.0.1:$P1 inet n - n - 0 echosvc -o daemon_timeout=3s
127.0.0.1:$P2 inet n - n - 1 echosvc -o echosvc_fail_start=yes
127.0.0.1:$P3 inet n - n - 0 echosvc -o echosvc_delay=400 -o max_idle=2s -o echosvc_fail_start=\$p3_fail multi
127.0.0.1:$P4 inet n - n - 1 echosvc -o daemon_timeout=3s -o echosvc_delay=8000
echow unix - - y 2? 1 echosvc multi
echonf unix - - n 1 1 echosvc nofiles
CF

"$MASTER" -c "$T/etc" -d > "$T/master.log" 2>&1 &
MPID=$!
wait_for 5 test -S "$T/q/private/echow" || { cat "$T/master.log"; echo "FAIL: master did not start"; exit 1; }
# A service with RLIMIT_FSIZE 0 logs through master's stderr pipe into the
# file master.log (a direct write would fail with EFBIG).
if wait_for 5 grep -q "started service=echonf" "$T/master.log"
then pass "a no-files service's log line reached master's stderr file"
else fail "log line of the no-files service lost"; fi

# --- the instance lock refuses a second master ---
if "$MASTER" -c "$T/etc" -d > "$T/second.log" 2>&1; then fail "second master started"
elif grep -q "already running (pid $MPID" "$T/second.log"; then pass "second master refused"
else fail "second master: unexpected message: $(cat "$T/second.log")"; fi

# --- socket ownership and modes ---
if [ "$(stat -c '%U %a' "$T/q/private")" = "postfix 700" ] && [ "$(stat -c '%U %a' "$T/q/private/echow")" = "postfix 666" ]
then pass "private/ 0700 and socket 0666, owned by mail_owner"; else fail "private/ ownership or mode"; fi

# --- serve, kill -9, respawn within 2 s ---
r1=$(python3 "$CLIENT" ask 127.0.0.1:$P1 hello)
pid1=${r1%% *}
[ "$r1" = "$pid1 one hello" ] && pass "service answers ($r1)" || fail "first answer: $r1"
kill -KILL "$pid1"
t0=$(date +%s.%N)
if wait_for 5 log_has "pid $pid1 killed by signal 9"; then pass "master logged the death of pid $pid1"
else fail "no death log for $pid1"; fi
r2=$(python3 "$CLIENT" ask 127.0.0.1:$P1 again || true)
t1=$(date +%s.%N)
pid2=${r2%% *}
if [ -n "$pid2" ] && [ "$pid2" != "$pid1" ] && python3 -c "import sys; sys.exit(0 if $t1 - $t0 < 2.0 else 1)"
then pass "new process $pid2 served within 2 s"; else fail "respawn: '$r2' after $(python3 -c "print(round($t1 - $t0, 2))") s"; fi
if log_has "bad command startup" ; then fail "a killed (used) process throttled its service"; else pass "no throttling after kill -9 of a used process"; fi

# --- throttling: a service that exits 1 at start ---
python3 "$CLIENT" pend 127.0.0.1:$P2 8 & bgpids+=($!)
sleep 7.5
starts=$(grep -c "echosvc_fail_start is set" "$T/master.log" || true)
throttles=$(log_count "bad command startup -- throttling")
# 7.5 s with service_throttle_time 3 s: at most 2 starts per period -> <= 3 starts.
if [ "$starts" -ge 2 ] && [ "$starts" -le 3 ] && [ "$throttles" -ge 1 ]; then pass "throttled: $starts starts in 7.5 s, $throttles throttle warnings"
else fail "throttling: $starts starts, $throttles warnings"; fi
log_has "process $T/libexec/echosvc pid [0-9]* exit status 1" && pass "exit status 1 logged" || fail "no exit status log"

# --- load grows a maxproc 0 pool; idle processes retire after max_idle ---
pids=$(python3 "$CLIENT" load 127.0.0.1:$P3 6 3 0.15)
n=$(echo "$pids" | grep -c . || true)
[ "$n" -ge 2 ] && pass "load raised the pool to $n processes" || fail "pool did not grow ($n process)"
count_p3() { pgrep -f -- "-n 127.0.0.1:$P3 " | wc -l; }
no_p3() { [ "$(count_p3)" -eq 0 ]; }
if wait_for 6 no_p3; then pass "idle processes retired after max_idle"; else fail "$(count_p3) processes still alive after max_idle"; fi

# --- watchdog: a blocked loop is killed, an idle one is not ---
python3 "$CLIENT" ask 127.0.0.1:$P4 block > /dev/null 2>&1 & bgpids+=($!)
if wait_for 8 log_has "watchdog timeout"; then pass "blocked event loop killed by the watchdog"; else fail "no watchdog timeout"; fi
# pid2 has been idle since the respawn test (~10 s, daemon_timeout 3s). A
# second process may exist too (TAKEN is written before accept, as Postfix
# does, so master can briefly see none available): check pid2 itself.
kill -0 "$pid2" 2>/dev/null && pass "idle process $pid2 (daemon_timeout 3s) survived ~10 s" || fail "idle process $pid2 was killed"
! log_has "pid $pid2 " && pass "no death logged for the idle process" || fail "death logged for $pid2"

# --- conditional wake-up: none before first use, then every 2 s ---
sleep 2.5
if log_has "wakeup received"; then fail "wake-up before first use"; else pass "no wake-up before first use"; fi
python3 "$CLIENT" ask "unix:$T/q/private/echow" hi > /dev/null
if wait_for 6 log_has "wakeup received"; then pass "wake-up after first use"; else fail "no wake-up after first use"; fi

# --- reload: new children see the new value, a held connection survives ---
rm -f "$T/flag"
python3 "$CLIENT" held 127.0.0.1:$P1 before "$T/flag" after > "$T/held.out" 2>&1 & held=$!; bgpids+=($held)
wait_for 5 grep -q before "$T/held.out" || fail "held connection did not start"
oldpid=$(awk 'NR==1 {print $1}' "$T/held.out")
sed -i 's/^echosvc_param = one/echosvc_param = two/' "$T/etc/main.cf"
kill -HUP "$MPID"
wait_for 5 log_has "reload" || fail "no reload log"
sleep 0.5
r4=$(python3 "$CLIENT" ask 127.0.0.1:$P1 new)
[ "${r4#* }" = "two new" ] && [ "${r4%% *}" != "$oldpid" ] && pass "after reload a new process answers: $r4" || fail "after reload: $r4 (old pid $oldpid)"
touch "$T/flag"
wait "$held" || true
l2=$(sed -n 2p "$T/held.out")
[ "$l2" = "$oldpid one after" ] && pass "held connection survived the reload ($l2)" || fail "held connection: $(cat "$T/held.out")"
gone() { ! kill -0 "$oldpid" 2>/dev/null; }
wait_for 5 gone && pass "old process $oldpid exited after its connection" || fail "old process $oldpid still alive"

# --- reload with a configuration new processes die of: the old processes
# keep serving and master starts no new one even when the load asks for
# more (it would read the broken configuration and be throttled).
rm -f "$T/flag3"
python3 "$CLIENT" held 127.0.0.1:$P3 before "$T/flag3" after > "$T/held3.out" 2>&1 & h3=$!; bgpids+=($h3)
wait_for 5 grep -q before "$T/held3.out" || fail "held connection to the multi service did not start"
mark=$(wc -l < "$T/master.log")
since() { tail -n +"$((mark + 1))" "$T/master.log" | grep -c -- "$1" || true; }
sed -i 's/^p3_fail = no/p3_fail = yes/' "$T/etc/main.cf"
kill -HUP "$MPID"
reload_error() { [ "$(since "error: reload: service 127.0.0.1:$P3")" -ge 1 ]; }
wait_for 5 reload_error || fail "no reload error for a configuration new processes die of"
lpids=$(python3 "$CLIENT" load 127.0.0.1:$P3 6 3 0.15 || true)
touch "$T/flag3"; wait "$h3" || true
starts=$(since "echosvc_fail_start is set -- exiting (service 127.0.0.1:$P3)")
errors=$(since "error: reload: service")
served=$(echo "$lpids" | grep -c . || true)
if [ "$starts" -eq 1 ] && [ "$errors" -eq 1 ] && [ "$served" -ge 1 ]; then
  pass "failed reload: 1 failed start, 1 error; the load was served by $served old process(es), none started"
else
  fail "failed reload: $starts failed starts of the service (1 expected), $errors reload errors, served by '$lpids'"
fi
sed -i 's/^p3_fail = yes/p3_fail = no/' "$T/etc/main.cf"

# --- SIGTERM: children stop, master exits, pid file removed ---
kids=$(pgrep -P "$MPID" | tr '\n' ' ')
kill -TERM "$MPID"
mgone() { ! kill -0 "$MPID" 2>/dev/null; }
if wait_for 8 mgone; then pass "master exited on SIGTERM"; else fail "master still running"; fi
alive=0; for k in $kids; do kill -0 "$k" 2>/dev/null && alive=$((alive + 1)); done
[ "$alive" -eq 0 ] && pass "all children ($kids) stopped" || fail "$alive children alive"
[ ! -e "$T/q/pid/master.pid" ] && pass "pid file removed" || fail "pid file left"
MPID=

# --- a missing mail_owner is refused with the useradd command ---
sed -i 's/^mail_owner = postfix/mail_owner = pftls-nosuchuser/' "$T/etc/main.cf"
if "$MASTER" -c "$T/etc" -d > "$T/owner.log" 2>&1; then fail "master started without mail_owner"
elif grep -q "useradd --system --home-dir /nonexistent --shell /usr/sbin/nologin pftls-nosuchuser" "$T/owner.log"
then pass "missing mail_owner refused with the useradd command"; else fail "mail_owner message: $(cat "$T/owner.log")"; fi

if [ $fails -ne 0 ]; then
  echo "--- master log"; cat "$T/master.log"
  echo "master_test: $fails failed"; exit 1
fi
echo "master_test: all passed"
