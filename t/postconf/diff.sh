#!/usr/bin/env bash
# diff.sh - differential test of util/config against Debian's postconf(1).
#
# usage: t/postconf/diff.sh [-v] [CORPUS...]
#
# For every case of every corpus file (default t/data/postconf/*.cases;
# format in the header of expansion.cases) write main.cf and an empty
# master.cf into a fresh temporary directory, run
#     /usr/sbin/postconf -c DIR -xh NAME     and
#     build/t/bin/pfconf  -c DIR -xh NAME
# and require that both print exactly the expected line (or, for an
# "#@ error" case, that both fail). Prints one line per case and a summary;
# exits 1 when any case differs. When postconf is missing: fails if CI=true,
# otherwise skips (exit 0) with a message.
set -uo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
POSTCONF=${POSTCONF:-/usr/sbin/postconf}
PFCONF=${PFCONF:-$here/build/t/bin/pfconf}
verbose=0
if [ "${1:-}" = "-v" ]; then verbose=1; shift; fi
corpora=("$@")
[ ${#corpora[@]} -eq 0 ] && corpora=("$here"/t/data/postconf/*.cases)

if [ ! -x "$POSTCONF" ]; then
  if [ "${CI:-}" = "true" ]; then
    echo "check-postconf: FAIL: $POSTCONF not found (install Debian's postfix package; scripts/deps.sh does)" >&2
    exit 1
  fi
  echo "check-postconf: SKIP: $POSTCONF not found (set CI=true to make this a failure)"
  exit 0
fi
if [ ! -x "$PFCONF" ]; then
  echo "check-postconf: FAIL: $PFCONF not built (make tools)" >&2
  exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pftls-postconf.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

pass=0; fail=0; total=0

# run_case NAME PARAM EXPECT_KIND EXPECT_TEXT (main.cf already written)
run_case() {
  local name=$1 param=$2 kind=$3 want=$4 pc_out pc_rc our_out our_rc verdict=ok why=""
  : > "$tmp/master.cf"
  pc_out=$("$POSTCONF" -c "$tmp" -xh "$param" 2>"$tmp/pc.err"); pc_rc=$?
  our_out=$("$PFCONF" -c "$tmp" -xh "$param" 2>"$tmp/our.err"); our_rc=$?
  total=$((total + 1))
  if [ "$kind" = error ]; then
    if [ $pc_rc -eq 0 ]; then verdict=FAIL; why="postconf succeeded: [$pc_out]"; fi
    if [ $our_rc -eq 0 ]; then verdict=FAIL; why="$why pfconf succeeded: [$our_out]"; fi
  elif [ "$kind" = expect ]; then
    if [ $pc_rc -ne 0 ] || [ "$pc_out" != "$want" ]; then
      verdict=FAIL; why="postconf (rc=$pc_rc) printed [$pc_out] $(head -c 300 "$tmp/pc.err" | tr '\n' ' ')"
    fi
    if [ $our_rc -ne 0 ] || [ "$our_out" != "$want" ]; then
      verdict=FAIL; why="$why pfconf (rc=$our_rc) printed [$our_out] $(head -c 300 "$tmp/our.err" | tr '\n' ' ')"
    fi
  else
    verdict=FAIL; why="case has no '#@ expect' or '#@ error' line"
  fi
  if [ $verdict = ok ]; then
    pass=$((pass + 1))
    if [ $verbose -eq 1 ]; then echo "ok   $total $name [$our_out]"; else echo "ok   $total $name"; fi
  else
    fail=$((fail + 1))
    echo "FAIL $total $name: expected ${kind}${want:+ [$want]}; $why"
  fi
}

# gen_chain N STEP_TEMPLATE: the synthetic nesting cases.
gen_chain() {
  local n=$1 branch=$2 i
  if [ "$branch" = 1 ]; then echo "x = 1"; fi
  for ((i = 1; i <= n; i++)); do
    if [ "$branch" = 1 ]; then echo "p$i = \${x?{\$p$((i + 1))}}"; else echo "p$i = \$p$((i + 1))"; fi
  done
  echo "p$((n + 1)) = end"
  echo "smtpd_banner = \$p1"
}

for corpus in "${corpora[@]}"; do
  name=""
  flush() {
    [ -z "$name" ] && return
    if [ -n "$chain" ]; then gen_chain "$chain" "$branch" >> "$tmp/main.cf"; fi
    run_case "$name" "$param" "$kind" "$want"
  }
  while IFS= read -r line || [ -n "$line" ]; do
    case "$line" in
      "### "*)
        flush
        name=${line#\#\#\# }; param=smtpd_banner; kind=""; want=""; chain=""; branch=0
        : > "$tmp/main.cf"
        ;;
      "#@ param "*) param=${line#\#@ param } ;;
      "#@ expect") kind=expect; want="" ;;
      "#@ expect "*) kind=expect; want=${line#\#@ expect } ;;
      "#@ error") kind=error ;;
      "#@ chain "*) chain=${line#\#@ chain }; branch=0 ;;
      "#@ branchchain "*) chain=${line#\#@ branchchain }; branch=1 ;;
      *) [ -n "$name" ] && printf '%s\n' "$line" >> "$tmp/main.cf" ;;
    esac
  done < "$corpus"
  flush
done

echo "check-postconf: $total cases, $pass passed, $fail failed"
[ $fail -eq 0 ] && [ $total -gt 0 ]
