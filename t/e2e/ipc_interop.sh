#!/usr/bin/env bash
# ipc_interop.sh - our blocking tlsmgr client against the REAL Debian tlsmgr.
#
# Starts /usr/lib/postfix/sbin/tlsmgr outside master(8) with
# t/e2e/lib/postfix_daemon.py (fds 3-6, GENERATION, MAIL_CONFIG; spec
# Appendix A) on a socket in a temp dir, runs build/t/bin/tlsmgr_client
# against it, and stops everything on exit. Needs root (tlsmgr opens its
# cache and PRNG files as mail_owner); skips with a message otherwise.
set -euo pipefail
cd "$(dirname "$0")/../.."

TLSMGR=/usr/lib/postfix/sbin/tlsmgr
CLIENT=build/t/bin/tlsmgr_client
if [ "$(id -u)" -ne 0 ]; then
  echo "ipc_interop: SKIP: needs root to run the real tlsmgr"; exit 0
fi
if [ ! -x "$TLSMGR" ] || ! getent passwd postfix >/dev/null; then
  echo "ipc_interop: SKIP: Debian postfix (tlsmgr, user postfix) not installed"; exit 0
fi
[ -x "$CLIENT" ] || { echo "ipc_interop: $CLIENT not built" >&2; exit 1; }

work=$(mktemp -d /tmp/pftls-ipc-interop.XXXXXX)
chmod 0755 "$work"
launcher_pid=""
cleanup() {
  if [ -n "$launcher_pid" ] && kill -0 "$launcher_pid" 2>/dev/null; then
    kill -TERM "$launcher_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$launcher_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$launcher_pid" 2>/dev/null || true
  fi
  if [ -f "$work/daemon.pid" ]; then
    kill -KILL "$(cat "$work/daemon.pid")" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

python3 t/e2e/lib/postfix_daemon.py --workdir "$work" --service tlsmgr \
  --daemon "$TLSMGR" --pidfile "$work/daemon.pid" -- -l -t unix -V >"$work/launcher.out" 2>&1 &
launcher_pid=$!
sock="$work/queue/private/tlsmgr"
for _ in $(seq 100); do
  grep -q '^ready ' "$work/launcher.out" 2>/dev/null && break
  kill -0 "$launcher_pid" 2>/dev/null || break
  sleep 0.1
done
if ! grep -q '^ready ' "$work/launcher.out"; then
  echo "ipc_interop: real tlsmgr did not start" >&2
  cat "$work/launcher.out" "$work/daemon.log" >&2 2>/dev/null || true
  exit 1
fi

rc=0
timeout 60 "$CLIENT" "$sock" || rc=$?
if [ $rc -ne 0 ]; then
  echo "ipc_interop: FAILED (exit $rc); tlsmgr log:" >&2
  cat "$work/daemon.log" >&2 || true
  exit 1
fi
echo "ipc_interop: our client and the real tlsmgr agree"
