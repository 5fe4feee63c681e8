#!/usr/bin/env bash
# deps.sh - install the Debian packages pftls builds and tests with, only when
# something is missing. Called by `make run` and `make check`.
#
# Debian's postfix package is a test oracle (postconf, tlsmgr, postscreen,
# smtpd, posttls-finger, postfix-tls-script). It is installed with the
# debconf answer "No configuration" and a policy-rc.d that forbids starting
# services, so it never runs as a system MTA.
#
# With arguments, installs those packages instead of the list below (the
# same way: bench/deps.sh installs the benchmark peers through it).
set -euo pipefail

pkgs=(
  build-essential g++ make pkg-config
  libssl-dev libevent-dev libsqlite3-dev libseccomp-dev libgtest-dev
  clang-14 libclang-rt-14-dev
  openssl python3 curl swaks libnet-ssleay-perl libio-socket-ssl-perl gnutls-bin testssl.sh sqlite3
  procps util-linux iproute2 strace
  postfix
)
[ $# -gt 0 ] && pkgs=("$@")

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "deps.sh: missing Debian packages: ${missing[*]}" >&2
  echo "deps.sh: run as root, or: apt-get install ${missing[*]}" >&2
  exit 1
fi

echo "deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
# Never let a package start a service while we install it.
created_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod 0755 /usr/sbin/policy-rc.d
  created_policy=1
fi
trap '[ $created_policy -eq 1 ] && rm -f /usr/sbin/policy-rc.d' EXIT
apt-get update -qq
apt-get install -y -q --no-install-recommends "${missing[@]}"
