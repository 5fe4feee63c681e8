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
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "bench/deps.sh: missing: ${missing[*]} (run as root)" >&2
    exit 1
  fi
  echo "bench/deps.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  created_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 0755 /usr/sbin/policy-rc.d
    created_policy=1
  fi
  trap '[ $created_policy -eq 1 ] && rm -f /usr/sbin/policy-rc.d' EXIT
  apt-get install -y -q --no-install-recommends "${missing[@]}" ||
    { apt-get update -qq && apt-get install -y -q --no-install-recommends "${missing[@]}"; }
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
