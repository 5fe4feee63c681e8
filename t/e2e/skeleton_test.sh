#!/usr/bin/env bash
# skeleton_test.sh - the daemon skeleton's modes without a master, on
# echosvc: -S on pipes and files, -S on a socket, PFTLS_LISTEN foreground
# listen mode with SIGTERM exit, and the message when fd 5 is missing.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
ECHOSVC=${ECHOSVC:-$top/build/t/bin/echosvc}
CLIENT=$top/t/e2e/echoclient.py
[ -x "$ECHOSVC" ] || { echo "FAIL: $ECHOSVC not built"; exit 1; }
T=$(mktemp -d /tmp/pftls-skel.XXXXXX)
SPID=
cleanup() {
  [ -n "$SPID" ] && kill -KILL "$SPID" 2>/dev/null || true
  rm -rf "$T"
}
trap cleanup EXIT
fails=0
pass() { echo "ok - $*"; }
fail() { echo "not ok - $*"; fails=$((fails + 1)); }
mkdir -p "$T/q"
printf 'queue_directory = %s/q\necho_unused = 1\n' "$T" > "$T/main.cf"
export MAIL_CONFIG=$T

out=$(printf 'a\nb\n' | timeout 10 "$ECHOSVC" -S -o echosvc_param=pipe 2>/dev/null)
[ "$(echo "$out" | awk '{print $2, $3}' | tr '\n' ' ')" = "pipe a pipe b " ] && pass "-S on pipes" || fail "-S pipes: $out"
printf 'c\n' > "$T/in"
timeout 10 "$ECHOSVC" -S -o echosvc_param=file < "$T/in" > "$T/out" 2>/dev/null
[ "$(awk '{print $2, $3}' "$T/out")" = "file c" ] && pass "-S on files" || fail "-S files: $(cat "$T/out")"
sock=$(timeout 10 python3 - "$ECHOSVC" <<'PY'
import socket, subprocess, sys
a, b = socket.socketpair()
p = subprocess.Popen([sys.argv[1], "-S", "-o", "echosvc_param=sock"], stdin=b, stdout=b, stderr=subprocess.DEVNULL)
b.close()
a.settimeout(5)
a.sendall(b"x\n")
print(a.recv(100).decode().split()[1:])
a.shutdown(socket.SHUT_WR)
print(p.wait(5))
PY
)
[ "$sock" = "$(printf "['sock', 'x']\n0")" ] && pass "-S on a socket, exit 0 after it" || fail "-S socket: $sock"

port=$((20000 + RANDOM % 20000))
PFTLS_LISTEN="inet:127.0.0.1:$port,unix:$T/s" "$ECHOSVC" -o echosvc_param=listen 2> "$T/listen.log" &
SPID=$!
for _ in $(seq 1 50); do [ -S "$T/s" ] && break; sleep 0.1; done
r1=$(python3 "$CLIENT" ask 127.0.0.1:$port hi || true)
r2=$(python3 "$CLIENT" ask "unix:$T/s" ho || true)
[ "${r1#* }" = "listen hi" ] && [ "${r2#* }" = "listen ho" ] && pass "PFTLS_LISTEN inet and unix" || fail "PFTLS_LISTEN: '$r1' '$r2'"
kill -TERM "$SPID"
st=0; for _ in $(seq 1 50); do kill -0 "$SPID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$SPID" 2>/dev/null; then fail "no exit on SIGTERM"; else wait "$SPID" || st=$?; [ $st -eq 0 ] && pass "SIGTERM: clean exit" || fail "SIGTERM exit status $st"; fi
SPID=

if "$ECHOSVC" 5>&- 2> "$T/nomaster.log"; then fail "started without master"
elif grep -q "not started by master(8): descriptor 5 is not open" "$T/nomaster.log"; then pass "no master: clear fatal message"
else fail "no master: $(cat "$T/nomaster.log")"; fi

[ $fails -eq 0 ] && echo "skeleton_test: all passed" || { echo "skeleton_test: $fails failed"; exit 1; }
