#!/usr/bin/env bash
# run-checks.sh - run each named make target as one check step, keep going
# after a failure, and end with one summary line "N passed, N failed".
set -uo pipefail
passed=0; failed=0; failed_names=()
for step in "$@"; do
  echo "=== check step: $step"
  start=$(date +%s)
  if make --no-print-directory "$step"; then
    passed=$((passed + 1)); verdict=PASS
  else
    failed=$((failed + 1)); verdict=FAIL; failed_names+=("$step")
  fi
  echo "=== $verdict: $step ($(( $(date +%s) - start )) s)"
done
[ $failed -gt 0 ] && echo "failed steps: ${failed_names[*]}"
echo "check: $passed passed, $failed failed"
[ $failed -eq 0 ]
