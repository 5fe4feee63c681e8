#!/usr/bin/env bash
# demo-start.sh DEMO_DIR - `make run`: build a demo instance under DEMO_DIR
# (config, queue and data directories inside the checkout), create the
# `pftls` system user if it is missing, make a key and a self-signed
# certificate with our own keytool (postfix-tls enable-server), start a
# small SMTP sink as the backend MTA on 127.0.0.1:10026, and run our master
# in the foreground with the services of etc/master.cf whose programs are
# built: smtpfront on 127.0.0.1:10025 (STARTTLS) and 127.0.0.1:10465
# (implicit TLS), tlsfront on 127.0.0.1:10443 (HTTPS, in front of a small
# python http.server on 127.0.0.1:10080 serving $DEMO_DIR/www), tlsproxy,
# tlsmgr. Ctrl-C stops everything.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
demo=${1:?usage: demo-start.sh DEMO_DIR}

if [ "$(id -u)" -ne 0 ]; then
  echo "pftls: the demo master must run as root (it creates sockets and drops to the pftls user)" >&2
  exit 1
fi
if ! id pftls >/dev/null 2>&1; then
  echo "pftls: creating system user pftls"
  useradd --system --home-dir /nonexistent --shell /usr/sbin/nologin pftls
fi

mkdir -p "$demo/etc" "$demo/queue" "$demo/spool"
# The data directory must be reachable by pftls; a checkout under a private
# home directory is not, so fall back to a directory of our own then.
data="$demo/data"
mkdir -p "$data"
chown pftls "$data"
if ! setpriv --reuid=pftls --regid="$(id -g pftls)" --clear-groups test -w "$data" 2>/dev/null; then
  data=/var/lib/pftls-demo
  mkdir -p "$data"
  chown pftls "$data"
  chmod 0700 "$data"
  echo "pftls: $demo is not reachable by the pftls user; data_directory is $data"
fi
if [ ! -f "$demo/etc/main.cf" ]; then
  sed -e "s|^queue_directory = .*|queue_directory = $demo/queue|" \
      -e "s|^data_directory = .*|data_directory = $data|" \
      -e "s|^daemon_directory = .*|daemon_directory = $top/build/bin|" \
      "$top/etc/main.cf" > "$demo/etc/main.cf"
  cat >> "$demo/etc/main.cf" <<CF
myhostname = localhost
smtpd_tls_session_cache_database = btree:\${data_directory}/smtpd_scache
tlsproxy_tls_loglevel = 1
CF
fi
# Key and certificate by our keytool, deployed into main.cf (first run only).
if ! grep -q '^smtpd_tls_cert_file' "$demo/etc/main.cf"; then
  grep -v '^smtpd_tls_security_level' "$demo/etc/main.cf" > "$demo/etc/main.cf.new"
  mv "$demo/etc/main.cf.new" "$demo/etc/main.cf"
  "$top/build/bin/postfix-tls" -c "$demo/etc" enable-server localhost
  echo "pftls: deployed $(grep '^smtpd_tls_cert_file' "$demo/etc/main.cf")"
fi

# Only services whose program exists; comments and continuation lines are kept.
: > "$demo/etc/master.cf"
services=()
skip=0
while IFS= read -r line; do
  case "$line" in
    ''|'#'*) printf '%s\n' "$line" >> "$demo/etc/master.cf"; continue ;;
    ' '*|$'\t'*) [ $skip -eq 1 ] && line="#$line"; printf '%s\n' "$line" >> "$demo/etc/master.cf"; continue ;;
  esac
  read -r name _ _ _ _ _ _ cmd _ <<< "$line"
  if [ -x "$top/build/bin/$cmd" ]; then
    printf '%s\n' "$line" >> "$demo/etc/master.cf"; services+=("$name"); skip=0
  else
    printf '#(not built yet) %s\n' "$line" >> "$demo/etc/master.cf"; skip=1
  fi
done < "$top/etc/master.cf"

sink=""
web=""
master=""
stop() {
  trap - INT TERM EXIT
  # "|| true": a killed child's wait status must not end stop() under set -e.
  [ -n "$master" ] && kill -TERM "$master" 2>/dev/null && wait "$master" 2>/dev/null || true
  [ -n "$web" ] && kill "$web" 2>/dev/null && wait "$web" 2>/dev/null || true
  [ -n "$sink" ] && kill "$sink" 2>/dev/null && wait "$sink" 2>/dev/null || true
  echo "pftls: stopped"
}
trap stop INT TERM EXIT
# await_listen PID PORT WHAT - wait for a backend to listen; exit if it died.
await_listen() {
  for _ in $(seq 40); do (echo > "/dev/tcp/127.0.0.1/$2") 2>/dev/null && return 0; sleep 0.1; done
  kill -0 "$1" 2>/dev/null && return 0
  echo "pftls: the demo $3 could not listen on 127.0.0.1:$2 (port in use?)" >&2
  exit 1
}
python3 "$top/t/tools/smtp_sink.py" --listen 127.0.0.1:10026 --spool "$demo/spool" >/dev/null &
sink=$!
await_listen "$sink" 10026 backend

# The HTTP backend of tlsfront (127.0.0.1:10443 -> 127.0.0.1:10080).
mkdir -p "$demo/www"
[ -f "$demo/www/index.html" ] || cat > "$demo/www/index.html" <<'HTML'
<!doctype html>
<title>pftls tlsfront demo</title>
<p>Hello from the plaintext backend, through pftls tlsfront and tlsproxy.</p>
HTML
python3 -m http.server --bind 127.0.0.1 --directory "$demo/www" 10080 >/dev/null 2>&1 &
web=$!
await_listen "$web" 10080 "HTTP backend"

echo "pftls: demo instance in $demo (config $demo/etc)"
echo "pftls: services: ${services[*]:-none built yet}; backend sink on 127.0.0.1:10026 (mail in $demo/spool)"
echo "pftls: HTTPS demo: https://127.0.0.1:10443/ (tlsfront, self-signed certificate)"
echo "pftls: try:"
echo "         swaks --server 127.0.0.1:10025 --tls --to you@example.com"
echo "         swaks --server 127.0.0.1:10465 --tlsc --to you@example.com"
echo "         openssl s_client -starttls smtp -connect 127.0.0.1:10025"
echo "         curl -k https://127.0.0.1:10443/    (tlsfront -> http.server on 127.0.0.1:10080, $demo/www)"
echo "pftls: master runs in the foreground; stop it with Ctrl-C"
"$top/build/bin/master" -c "$demo/etc" -d &
master=$!
wait "$master" || true
master=""
