#!/usr/bin/env bash
# make_run.sh - what `make run` starts works from a fresh demo directory:
# swaks --tls (127.0.0.1:10025) and swaks --tlsc (127.0.0.1:10465) deliver
# to the sink, curl -k https://127.0.0.1:10443/ gets the demo page through
# tlsfront, and SIGINT to the process group (Ctrl-C) leaves no process
# behind. Needs root (the demo master runs as root); skips otherwise.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
if [ "$(id -u)" -ne 0 ]; then echo "skip: make_run needs root"; exit 0; fi
demo=$(mktemp -d /tmp/pftls-demo.XXXXXX)
out=$demo.out
fail=0
PFTLS_DEMO_DIR=$demo setsid "$top/scripts/run-demo.sh" > "$out" 2>&1 &
pid=$!
pgid=$pid
cleanup() { kill -KILL -- -"$pgid" 2>/dev/null; rm -rf "$demo" "$out"; }
trap cleanup EXIT
for _ in $(seq 80); do (echo > /dev/tcp/127.0.0.1/10025) 2>/dev/null && break; sleep 0.25; done
for _ in $(seq 40); do (echo > /dev/tcp/127.0.0.1/10465) 2>/dev/null && break; sleep 0.25; done
tls_out=$(swaks --server 127.0.0.1:10025 --tls --to you@example.com --timeout 20 2>&1)
if grep -q '<~  250 2.0.0 Ok: queued' <<< "$tls_out"; then
  echo "ok   make run: swaks --tls on 127.0.0.1:10025 delivered"
else echo "FAIL make run: swaks --tls on 127.0.0.1:10025"; fail=1; fi
tlsc_out=$(swaks --server 127.0.0.1:10465 --tlsc --to you@example.com --timeout 20 2>&1)
if grep -q '<~  250 2.0.0 Ok: queued' <<< "$tlsc_out"; then
  echo "ok   make run: swaks --tlsc on 127.0.0.1:10465 delivered"
else echo "FAIL make run: swaks --tlsc on 127.0.0.1:10465"; fail=1; fi
for _ in $(seq 40); do (echo > /dev/tcp/127.0.0.1/10443) 2>/dev/null && break; sleep 0.25; done
page=$(curl -sk --max-time 20 https://127.0.0.1:10443/ 2>&1)
if [ -n "$page" ] && [ "$page" = "$(cat "$demo/www/index.html" 2>/dev/null)" ]; then
  echo "ok   make run: curl https://127.0.0.1:10443/ through tlsfront returned the demo page"
else echo "FAIL make run: curl https://127.0.0.1:10443/ (got: ${page:0:200})"; fail=1; fi
grep -q 'cert-.*\.pem' "$demo/etc/main.cf" && echo "ok   make run: certificate made and deployed by postfix-tls" || { echo "FAIL make run: no keytool certificate in main.cf"; fail=1; }
kill -INT -- -"$pgid"
for _ in $(seq 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
sleep 0.5
# This demo's processes: their command line or MAIL_CONFIG names $demo.
left=""
for p in /proc/[0-9]*; do
  cmd=$( { tr '\0' ' ' < "$p/cmdline"; } 2>/dev/null) || continue
  env=$( { tr '\0' '\n' < "$p/environ"; } 2>/dev/null | grep -x "MAIL_CONFIG=$demo/etc" || true)
  case "$cmd" in *"$demo"*) left="$left ${p#/proc/}:$cmd";; *) [ -n "$env" ] && left="$left ${p#/proc/}:$cmd";; esac
done
if [ -z "$left" ]; then echo "ok   make run: Ctrl-C left no process behind"
else echo "FAIL make run: processes left after Ctrl-C:"; echo "$left"; fail=1; fi
[ $fail -eq 0 ] || { echo "---- demo output"; tail -40 "$out"; }
echo "make_run: $([ $fail -eq 0 ] && echo ok || echo FAILED)"
exit $fail
