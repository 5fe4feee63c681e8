#!/usr/bin/env bash
# run-demo.sh - `make run`: create the demo configuration under ./demo and
# start, in the foreground, every pftls part that exists so far.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
demo=${PFTLS_DEMO_DIR:-$top/demo}

have() { [ -x "$top/build/bin/$1" ]; }

if ! have master; then
  echo "pftls: built so far: $(ls build/bin 2>/dev/null | tr '\n' ' ')"
  echo "pftls: the master (supervisor) does not exist yet; nothing to start."
  echo "pftls: 'make check' runs the tests of what exists."
  exit 0
fi
exec "$top/scripts/demo-start.sh" "$demo"
