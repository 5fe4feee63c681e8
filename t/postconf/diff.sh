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

# Phase 1 writes every case into its own directory; phase 2 runs them
# concurrently (postconf sleeps ~2 s trying to reach syslog whenever it
# warns, e.g. about an undefined parameter, so serial runs are slow);
# phase 3 reports in corpus order.
JOBS=${JOBS:-16}
ncase=0

# run_one DIR: compare both programs for the case in DIR; writes DIR/result.
run_one() {
  local d=$1 name param kind want pc_out pc_rc our_out our_rc verdict=ok why=""
  name=$(cat "$d/name"); param=$(cat "$d/param"); kind=$(cat "$d/kind"); want=$(cat "$d/want")
  pc_out=$("$POSTCONF" -c "$d" -xh "$param" 2>"$d/pc.err"); pc_rc=$?
  our_out=$("$PFCONF" -c "$d" -xh "$param" 2>"$d/our.err"); our_rc=$?
  if [ "$kind" = error ]; then
    if [ $pc_rc -eq 0 ]; then verdict=FAIL; why="postconf succeeded: [$pc_out]"; fi
    if [ $our_rc -eq 0 ]; then verdict=FAIL; why="$why pfconf succeeded: [$our_out]"; fi
  elif [ "$kind" = expect ]; then
    if [ $pc_rc -ne 0 ] || [ "$pc_out" != "$want" ]; then
      verdict=FAIL; why="postconf (rc=$pc_rc) printed [$pc_out] $(head -c 300 "$d/pc.err" | tr '\n' ' ')"
    fi
    if [ $our_rc -ne 0 ] || [ "$our_out" != "$want" ]; then
      verdict=FAIL; why="$why pfconf (rc=$our_rc) printed [$our_out] $(head -c 300 "$d/our.err" | tr '\n' ' ')"
    fi
  else
    verdict=FAIL; why="case has no '#@ expect' or '#@ error' line"
  fi
  if [ $verdict = ok ]; then
    if [ $verbose -eq 1 ]; then echo "ok   $name [$our_out]"; else echo "ok   $name"; fi
  else
    echo "FAIL $name: expected ${kind}${want:+ [$want]}; $why"
  fi > "$d/result"
}

# gen_chain N BRANCH: the synthetic nesting cases.
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
    if [ -n "$chain" ]; then gen_chain "$chain" "$branch" >> "$dir/main.cf"; fi
    printf '%s' "$name" > "$dir/name"; printf '%s' "$param" > "$dir/param"
    printf '%s' "$kind" > "$dir/kind"; printf '%s' "$want" > "$dir/want"
  }
  while IFS= read -r line || [ -n "$line" ]; do
    case "$line" in
      "### "*)
        flush
        ncase=$((ncase + 1)); dir=$(printf '%s/case%04d' "$tmp" "$ncase"); mkdir "$dir"
        : > "$dir/main.cf"; : > "$dir/master.cf"
        name=${line#\#\#\# }; param=smtpd_banner; kind=""; want=""; chain=""; branch=0
        ;;
      "#@ param "*) param=${line#\#@ param } ;;
      "#@ expect") kind=expect; want="" ;;
      "#@ expect "*) kind=expect; want=${line#\#@ expect } ;;
      "#@ error") kind=error ;;
      "#@ chain "*) chain=${line#\#@ chain }; branch=0 ;;
      "#@ branchchain "*) chain=${line#\#@ branchchain }; branch=1 ;;
      *) [ -n "$name" ] && printf '%s\n' "$line" >> "$dir/main.cf" ;;
    esac
  done < "$corpus"
  flush
done

running=0
for d in "$tmp"/case*; do
  run_one "$d" &
  running=$((running + 1))
  if [ $running -ge "$JOBS" ]; then wait -n; running=$((running - 1)); fi
done
wait

pass=0; fail=0; total=0
for d in "$tmp"/case*; do
  total=$((total + 1))
  if [ -s "$d/result" ]; then r=$(cat "$d/result"); else r="FAIL $(cat "$d/name"): no result"; fi
  case "$r" in ok*) pass=$((pass + 1)) ;; *) fail=$((fail + 1)) ;; esac
  echo "${r:0:4} $total ${r:5}"
done

echo "check-postconf: $total cases, $pass passed, $fail failed"
[ $fail -eq 0 ] && [ $total -gt 0 ]
