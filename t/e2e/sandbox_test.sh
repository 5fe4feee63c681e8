#!/usr/bin/env bash
# sandbox_test.sh - issue 8 acceptance, from outside the processes:
#  1. death tests: each role (tlsproxy, tlsmgr, smtpfront, and tlsfront
#     when build/bin/tlsfront exists) started stand-alone (PFTLS_LISTEN)
#     with the real jail (-c -u) and -o pftls_sandbox_selftest=NAME must
#     end by SIGSYS, or fail the call with EACCES where the table says so
#     (tlsmgr open_creat: Landlock; exit 3 + "Permission denied");
#  2. our master with tlsmgr, tlsproxy and smtpfront serving a STARTTLS
#     client (the allowed paths: hand-off, full handshake, a tlsmgr cache
#     update seen in the SQLite file, resumption); while a client holds a
#     session each tlsproxy/tlsmgr/smtpfront has /proc/PID/root = the
#     chroot, Uid/Gid = mail_owner's, CapEff 0, NoNewPrivs 1, Seccomp 2;
#  3. no process of the instance died of SIGSYS or trapped a call.
# Root only (chroot, setuid); ports 22100-22199.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
if [ "$(id -u)" -ne 0 ]; then echo "SKIP sandbox_test: needs root (chroot and setuid)"; exit 0; fi
id postfix >/dev/null 2>&1 || { echo "SKIP sandbox_test: needs the 'postfix' user"; exit 0; }
grep -q '^Seccomp:' /proc/self/status || { echo "SKIP sandbox_test: kernel without seccomp"; exit 0; }
if [ "$(awk '/^Seccomp:/ {print $2}' /proc/self/status)" != 0 ]; then
  echo "FAIL: the test driver itself runs under seccomp"; exit 1
fi

T=$(mktemp -d /tmp/pftls-sandbox.XXXXXX)
chmod 0755 "$T"
MPID=""; SINK=""; HOLD=""
cleanup() {
  [ -n "$HOLD" ] && kill "$HOLD" 2>/dev/null
  if [ -n "$MPID" ] && kill -0 "$MPID" 2>/dev/null; then
    kill -TERM "$MPID"; for _ in $(seq 50); do kill -0 "$MPID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$MPID" 2>/dev/null || true
  fi
  [ -n "$SINK" ] && kill "$SINK" 2>/dev/null
  cd /; rm -rf "$T"
}
trap cleanup EXIT
fails=0
pass() { echo "ok - $*"; }
fail() { echo "not ok - $*"; fails=$((fails + 1)); }

PORT=$((22100 + RANDOM % 90))
mkdir -p "$T/etc" "$T/q" "$T/data" "$T/spool"
chown postfix "$T/data"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/etc/key.pem" -out "$T/etc/cert.pem" \
  -subj /CN=localhost -days 2 2>/dev/null
cat > "$T/etc/main.cf" <<CF
queue_directory = $T/q
data_directory = $T/data
daemon_directory = $top/build/bin
mail_owner = postfix
max_idle = 100s
smtpd_tls_cert_file = $T/etc/cert.pem
smtpd_tls_key_file = $T/etc/key.pem
smtpd_tls_security_level = may
smtpd_tls_session_cache_database = btree:$T/data/smtpd_scache
smtpd_tls_session_cache_timeout = 3600s
tls_session_ticket_cipher =
tlsproxy_tls_loglevel = 1
smtpfront_relay = inet:127.0.0.1:$((PORT + 1))
tlsfront_relay = inet:127.0.0.1:$((PORT + 1))
CF

# --- 1. death tests -----------------------------------------------------
landlock=$(python3 -c 'import ctypes; print(1 if ctypes.CDLL(None).syscall(444, None, 0, 1) > 0 else 0)')
roles="tlsproxy tlsmgr smtpfront"
[ -x "$top/build/bin/tlsfront" ] && roles="$roles tlsfront"
# expect ROLE TEST -> "sigsys" or "eacces" (or "skip")
expect() {
  case "$1:$2" in
    tlsmgr:open_creat) [ "$landlock" = 1 ] && echo eacces || echo skip ;;
    smtpfront:socket_inet|tlsfront:socket_inet) echo skip ;;  # the front ends connect to TCP back ends
    *) echo sigsys ;;
  esac
}
# selftest ROLE ARGS... - run ROLE stand-alone in the real jail; rc = its
# exit status (128 + signal). Its stderr goes through a pipe: roles that
# write no files run with RLIMIT_FSIZE 0 and could not write to a file.
selftest() {
  local role=$1; shift
  set +e
  (cd "$T/q" && exec env MAIL_CONFIG=$T/etc PFTLS_LISTEN=unix:$T/st-$role timeout -s KILL 20 \
    "$top/build/bin/$role" -c -u -V "$@") 2>&1 | cat > "$T/st.log"
  rc=${PIPESTATUS[0]}
  set -e
}
for role in $roles; do
  for t in execve ptrace socket_inet open_creat mprotect_exec; do
    want=$(expect "$role" "$t")
    [ "$want" = skip ] && continue
    selftest "$role" -o pftls_sandbox_selftest=$t
    if [ "$want" = sigsys ] && [ $rc -eq $((128 + 31)) ]; then pass "$role $t: killed by SIGSYS"
    elif [ "$want" = eacces ] && [ $rc -eq 3 ] && grep -q "call failed: Permission denied" "$T/st.log"; then
      pass "$role $t: EACCES"
    else fail "$role $t: want $want, got exit $rc: $(tail -3 "$T/st.log" | tr '\n' ' ')"; fi
  done
done
# The trap mode reports and continues (ENOSYS -> exit 3).
selftest tlsproxy -o pftls_sandbox_debug=yes -o pftls_sandbox_selftest=socket_inet
if [ $rc -eq 3 ] && grep -q "trapped forbidden syscall 41 (socket)" "$T/st.log"; then pass "debug mode traps and logs socket"
else fail "debug mode: exit $rc: $(tail -3 "$T/st.log" | tr '\n' ' ')"; fi

# --- 2. the allowed paths, in a running instance -------------------------
python3 "$top/t/tools/smtp_sink.py" --listen 127.0.0.1:$((PORT + 1)) --spool "$T/spool" >/dev/null 2>&1 &
SINK=$!
for _ in $(seq 100); do (echo > /dev/tcp/127.0.0.1/$((PORT + 1))) 2>/dev/null && break; sleep 0.1; done
cat > "$T/etc/master.cf" <<CF
tlsmgr     unix  -       -       y      1000?   1       tlsmgr -V
tlsproxy   unix  -       -       y      -       0       tlsproxy -V
127.0.0.1:$PORT inet n   -       y      -       1       smtpfront -V
CF
# Through a pipe: children inherit it and tlsproxy/smtpfront (RLIMIT_FSIZE 0) could not write a file.
"$top/build/bin/master" -c "$T/etc" -d > >(cat > "$T/master.log") 2>&1 &
MPID=$!
for _ in $(seq 100); do (echo > /dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.1; done

send_mail() {
  python3 - "$PORT" "$T/sess" <<'PY'
import smtplib, ssl, sys, os
port, sess = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
ctx.maximum_version = ssl.TLSVersion.TLSv1_2   # session ids: the tlsmgr cache
s = smtplib.SMTP("127.0.0.1", port, timeout=20)
s.ehlo(); s.starttls(context=ctx); s.ehlo()
s.sendmail("a@example.com", ["b@example.com"], "Subject: sandbox\r\n\r\nhello\r\n")
s.quit()
PY
}
if send_mail; then pass "STARTTLS hand-off, full handshake and relay through the jailed daemons"
else fail "STARTTLS mail through smtpfront/tlsproxy"; fi
# tlsmgr inside its jail: a TLS 1.2 session without tickets is stored by
# id (an update of the SQLite cache) and found again by a new connection.
sess_try() {
  echo QUIT | timeout 20 openssl s_client -starttls smtp -connect 127.0.0.1:$PORT -tls1_2 -no_ticket "$@" 2>&1 |
    grep -E "^(New|Reused)," | head -1 | cut -d, -f1
}
first=$(sess_try -sess_out "$T/sess.pem")
second=$(sess_try -sess_in "$T/sess.pem")
if [ "$first" = New ] && [ "$second" = Reused ]; then
  pass "tlsmgr cache update and lookup inside the jail (session resumed by id)"
else fail "session-id resumption through tlsmgr: first=$first second=$second"; fi

# Hold a TLS session open while the processes are inspected.
sleep 12 | timeout 15 openssl s_client -starttls smtp -connect 127.0.0.1:$PORT >/dev/null 2>&1 &
HOLD=$!
sleep 2
uid=$(id -u postfix); gid=$(id -g postfix)
for prog in tlsproxy tlsmgr smtpfront; do
  pids=$(pgrep -x "$prog" -P "$MPID" || true)
  [ -n "$pids" ] || { fail "$prog: no running process under master $MPID: $(ps -o pid=,comm= --ppid "$MPID" | tr "\n" " ")"; continue; }
  for p in $pids; do
    st=/proc/$p/status
    root=$(readlink "/proc/$p/root")
    u=$(awk '/^Uid:/ {print $2,$3,$4,$5}' "$st"); g=$(awk '/^Gid:/ {print $2,$3,$4,$5}' "$st")
    cap=$(awk '/^CapEff:/ {print $2}' "$st"); nnp=$(awk '/^NoNewPrivs:/ {print $2}' "$st")
    sc=$(awk '/^Seccomp:/ {print $2}' "$st")
    if [ "$root" = "$T/q" ] && [ "$u" = "$uid $uid $uid $uid" ] && [ "$g" = "$gid $gid $gid $gid" ] &&
       [ "$cap" = 0000000000000000 ] && [ "$nnp" = 1 ] && [ "$sc" = 2 ]; then
      pass "$prog pid $p: root $root, uid/gid $uid/$gid, CapEff 0, NoNewPrivs 1, Seccomp 2"
    else fail "$prog pid $p: root=$root uid=[$u] gid=[$g] CapEff=$cap NoNewPrivs=$nnp Seccomp=$sc"; fi
  done
done
kill "$HOLD" 2>/dev/null; HOLD=""
if send_mail; then pass "a second session (resumption path) works"; else fail "second session"; fi
# tlsmgr restarts: the running tlsproxy reconnects with a reserved socket
# (it may create none) and resumption works again.
old_mgr=$(pgrep -x tlsmgr -P "$MPID" | head -1 || true)
proxies_before=$(pgrep -x tlsproxy -P "$MPID" | sort | tr '\n' ' ')
[ -n "$old_mgr" ] && kill -KILL "$old_mgr"
for _ in $(seq 50); do kill -0 "$old_mgr" 2>/dev/null || break; sleep 0.1; done
sleep 0.5  # master starts the next tlsmgr on demand
first=$(sess_try -sess_out "$T/sess2.pem")
second=$(sess_try -sess_in "$T/sess2.pem")
proxies_after=$(pgrep -x tlsproxy -P "$MPID" | sort | tr '\n' ' ')
new_mgr=$(pgrep -x tlsmgr -P "$MPID" | head -1 || true)
if [ "$first" = New ] && [ "$second" = Reused ]; then
  pass "after a tlsmgr restart ($old_mgr -> $new_mgr) tlsproxy reconnected: session resumed (tlsproxy pids before: $proxies_before after: $proxies_after)"
else fail "after a tlsmgr restart: first=$first second=$second"; fi

# --- 3. nobody died of SIGSYS ---------------------------------------------
if grep -E "signal 31|trapped forbidden syscall|no reserved socket left" "$T/master.log"; then fail "a daemon hit the sandbox (see above)"
else pass "no SIGSYS death or trapped call in the master log"; fi
[ $fails -eq 0 ] || { echo "--- master.log"; tail -40 "$T/master.log"; }
echo "sandbox_test: $([ $fails -eq 0 ] && echo ok || echo "$fails FAILED")"
exit $((fails > 0))
