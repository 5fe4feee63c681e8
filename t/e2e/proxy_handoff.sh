#!/usr/bin/env bash
# proxy_handoff.sh - the real tlsproxy binary, stand-alone (PFTLS_LISTEN),
# driven by build/t/bin/handoff_drive through status, fd, handshake, the
# context list and 1 MiB each way with a TLS 1.3 KeyUpdate (SHA-256 checked).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d /tmp/pftls-handoff.XXXXXX)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; cd /; rm -rf "$T"; }
trap cleanup EXIT
mkdir -p "$T/queue"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/key.pem" -out "$T/cert.pem" -subj /CN=localhost -days 2 2>/dev/null
cat > "$T/main.cf" <<CF
queue_directory = $T/queue
smtpd_tls_cert_file = $T/cert.pem
smtpd_tls_key_file = $T/key.pem
smtpd_tls_security_level = may
tlsproxy_tls_loglevel = 1
CF
# stderr through a pipe: the daemon runs with RLIMIT_FSIZE 0 and cannot
# write a file. $! is the daemon itself, so cleanup can stop it.
cd "$T"
MAIL_CONFIG=$T PFTLS_LISTEN=unix:$T/tlsproxy "$top/build/bin/tlsproxy" 2> >(cat > "$T/log") &
pid=$!
for _ in $(seq 100); do [ -S "$T/tlsproxy" ] && break; sleep 0.05; done
rc=0
"$top/build/t/bin/handoff_drive" "$T/tlsproxy" 1048576 || rc=$?
sleep 0.2
grep -q 'Anonymous TLS connection established from \[127.0.0.1\]:4242: TLSv1.3' "$T/log" || { echo "no summary line"; rc=1; }
[ $rc -eq 0 ] || cat "$T/log"
echo "proxy_handoff: $([ $rc -eq 0 ] && echo ok || echo FAILED)"
exit $rc
