#!/usr/bin/env bash
# demo-start.sh DEMO_DIR - `make run`: build a demo instance under DEMO_DIR
# (config, queue and data directories inside the checkout), create the
# `pftls` system user if it is missing, and run our master in the
# foreground with the services of etc/master.cf whose programs are built.
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

mkdir -p "$demo/etc" "$demo/queue" "$demo/data"
sed -e "s|^queue_directory = .*|queue_directory = $demo/queue|" \
    -e "s|^data_directory = .*|data_directory = $demo/data|" \
    -e "s|^daemon_directory = .*|daemon_directory = $top/build/bin|" \
    "$top/etc/main.cf" > "$demo/etc/main.cf"

# Only services whose program exists; comments are kept.
: > "$demo/etc/master.cf"
services=()
while IFS= read -r line; do
  case "$line" in
    ''|'#'*|' '*|$'\t'*) printf '%s\n' "$line" >> "$demo/etc/master.cf"; continue ;;
  esac
  read -r name _ _ _ _ _ _ cmd _ <<< "$line"
  if [ -x "$top/build/bin/$cmd" ]; then
    printf '%s\n' "$line" >> "$demo/etc/master.cf"; services+=("$name")
  else
    printf '#(not built yet) %s\n' "$line" >> "$demo/etc/master.cf"
  fi
done < "$top/etc/master.cf"

echo "pftls: demo instance in $demo (config $demo/etc)"
echo "pftls: services: ${services[*]:-none built yet}"
echo "pftls: master runs in the foreground; stop it with Ctrl-C"
exec "$top/build/bin/master" -c "$demo/etc" -d
