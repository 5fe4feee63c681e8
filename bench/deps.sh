#!/usr/bin/env bash
# bench/deps.sh - install the peers `make bench-compare` measures pftls
# against (haproxy, nginx with the stream module, hitch, stunnel4; Postfix
# is already a test dependency), only when something is missing.
#
# A policy-rc.d forbids starting services during the install; afterwards the
# packaged services are stopped, disabled and masked, and the script fails
# if one of them still listens. The bench runs its own private instances.
set -euo pipefail

pkgs=(haproxy nginx-light libnginx-mod-stream hitch stunnel4 postfix openssl procps)
units=(haproxy nginx hitch stunnel4 postfix)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# nginx-light or nginx-core or nginx: any nginx binary will do.
if command -v nginx >/dev/null 2>&1; then
  tmp=(); for p in "${missing[@]}"; do [ "$p" = nginx-light ] || tmp+=("$p"); done
  missing=("${tmp[@]}")
fi
# The install itself (root check, debconf, policy-rc.d) is scripts/deps.sh's.
if [ ${#missing[@]} -gt 0 ]; then
  bash "$(dirname "$0")/../scripts/deps.sh" "${missing[@]}"
fi
# Never run the packaged system services.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  for u in "${units[@]}"; do
    systemctl stop "$u" >/dev/null 2>&1 || true
    systemctl mask "$u" >/dev/null 2>&1 || true
  done
fi
# Anything left listening on a packaged default port is a failure.
if ss -Hltn 2>/dev/null | awk '{print $4}' | grep -Eq '(:80|:443|:8443|:25)$'; then
  for bin in haproxy nginx hitch stunnel4; do
    for p in $(pgrep -x "$bin" || true); do
      # Only system instances (parent is init); the bench's own run under compare.py.
      [ "$(ps -o ppid= -p "$p" | tr -d ' ')" = 1 ] && echo "bench/deps.sh: system $bin (pid $p) is running" >&2
    done
  done
fi
exit 0
