#!/usr/bin/env bash
# debian_master_test.sh - a daemon built on our skeleton (echosvc) runs under
# Debian's real Postfix master(8) in a throwaway instance: temporary
# config_directory/queue_directory/data_directory, daemon_directory = a temp
# dir holding our binary and a symlink to Debian's postlogd (for
# maillog_file), inet service on 127.0.0.1 only. Checks: one request is
# served, a reload (SIGHUP: status pipe EOF) makes our daemon retire and a
# new one answers with the new configuration, and master's log shows no
# throttling and no warnings.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
ECHOSVC=${ECHOSVC:-$top/build/t/bin/echosvc}
CLIENT=$top/t/e2e/echoclient.py
PMASTER=/usr/lib/postfix/sbin/master

if [ "$(id -u)" -ne 0 ]; then echo "SKIP debian_master_test: needs root"; exit 0; fi
if [ ! -x "$PMASTER" ] || [ ! -x /usr/lib/postfix/sbin/postlogd ]; then
  echo "SKIP debian_master_test: Debian's postfix package is not installed ($PMASTER)"; exit 0
fi
[ -x "$ECHOSVC" ] || { echo "FAIL: $ECHOSVC not built"; exit 1; }

D=$(mktemp -d /tmp/pftls-pfmaster.XXXXXX)
chmod 0755 "$D"
MPID=
cleanup() {
  if [ -n "$MPID" ] && kill -0 "$MPID" 2>/dev/null; then
    kill -TERM "$MPID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$MPID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$MPID" 2>/dev/null || true
  fi
  for p in $(pgrep -f "^echosvc .*-n 127.0.0.1:$PORT " 2>/dev/null || true); do kill -KILL "$p" 2>/dev/null || true; done
  rm -rf "$D"
}
trap cleanup EXIT
fails=0
pass() { echo "ok - $*"; }
fail() { echo "not ok - $*"; fails=$((fails + 1)); }
wait_for() {
  local limit=$1; shift
  local end=$((SECONDS + limit))
  while ! "$@" >/dev/null 2>&1; do
    [ $SECONDS -ge $end ] && return 1
    sleep 0.1
  done
}

PORT=$((20000 + RANDOM % 20000))
mkdir -p "$D/etc" "$D/libexec" "$D/q/pid" "$D/data"
install -d -o postfix -m 0700 "$D/q/private"
install -d -o postfix -g postdrop -m 0710 "$D/q/public"
chown postfix "$D/data"
cp "$ECHOSVC" "$D/libexec/echosvc"
ln -s /usr/lib/postfix/sbin/postlogd "$D/libexec/postlogd"
cat > "$D/etc/main.cf" <<CF
compatibility_level = 3.6
queue_directory = $D/q
data_directory = $D/data
daemon_directory = $D/libexec
mail_owner = postfix
inet_interfaces = loopback-only
inet_protocols = ipv4
maillog_file = $D/maillog
maillog_file_prefixes = $D
echosvc_param = first
CF
cat > "$D/etc/master.cf" <<CF
127.0.0.1:$PORT inet n - n - 1 echosvc
postlog unix-dgram n - n - 1 postlogd
CF

# Own session: Postfix master signals its whole process group on SIGTERM.
(cd / && exec setsid "$PMASTER" -c "$D/etc" -d) > "$D/stderr" 2>&1 &
MPID=$!
started() { grep -q "daemon started" "$D/maillog"; }
wait_for 10 started || { echo "--- stderr"; cat "$D/stderr"; echo "FAIL: Postfix master did not start"; exit 1; }
MPID=$(awk '{print $1}' "$D/q/pid/master.pid")

r1=$(python3 "$CLIENT" ask 127.0.0.1:$PORT one || true)
pid1=${r1%% *}
[ "$r1" = "$pid1 first one" ] && pass "served under Debian master: $r1" || fail "answer: '$r1'"
args=$(tr '\0' ' ' < "/proc/$pid1/cmdline" 2>/dev/null || true)
case "$args" in *"-n 127.0.0.1:$PORT -t inet"*) pass "argv from Debian master: $args";; *) fail "argv: $args";; esac

sed -i 's/^echosvc_param = first/echosvc_param = second/' "$D/etc/main.cf"
kill -HUP "$MPID"
gone() { ! kill -0 "$pid1" 2>/dev/null || grep -q zombie "/proc/$pid1/status" 2>/dev/null; }
wait_for 5 gone && pass "our daemon retired on status-pipe EOF after reload" || fail "pid $pid1 still alive after reload"
r2=$(python3 "$CLIENT" ask 127.0.0.1:$PORT two || true)
[ "${r2#* }" = "second two" ] && [ "${r2%% *}" != "$pid1" ] && pass "new daemon has the new configuration: $r2" || fail "after reload: '$r2'"

sleep 0.5
if grep -q "throttling" "$D/maillog"; then fail "master throttled the service"; else pass "no throttling in master's log"; fi
if grep -E "postfix/master\[[0-9]+\]: (warning|fatal|panic)" "$D/maillog"; then fail "master logged problems"; else pass "no warnings from master"; fi

if [ $fails -ne 0 ]; then
  echo "--- maillog"; cat "$D/maillog"; echo "--- stderr"; cat "$D/stderr"
  echo "debian_master_test: $fails failed"; exit 1
fi
echo "debian_master_test: all passed"
