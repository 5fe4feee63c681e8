"""report.py - the Markdown report of bench/compare.py: medians, spreads,
ratios to pftls, the libssl floor and the issue-10 goals."""
import statistics


def med(runs, key):
    v = [r[key] for r in runs if key in r]
    return statistics.median(v) if v else 0.0


def spread(runs, key):
    v = [r[key] for r in runs if key in r]
    if len(v) < 2:
        return ""
    return f" ({min(v):.0f}–{max(v):.0f})"


def brief(runs, bulk=False):
    s = (f"cpu {med(runs, 'cpu_us'):.0f} us/session{spread(runs, 'cpu_us')}, "
         f"{med(runs, 'sessions_per_s'):.0f} sessions/s, reuse {med(runs, 'reuse_ratio'):.2f}, "
         f"errors {sum(r['errors'] for r in runs)}")
    if bulk:
        s += f", {med(runs, 'mb_per_s'):.0f} MB/s, {med(runs, 'mb_per_cpu_s'):.0f} MB per CPU-s"
    return s


def _pftls_ref(rows):
    for r in rows:
        if r["peer"].startswith("pftls"):
            return r
    return None


def _cases(rows, section):
    out = []
    for r in rows:
        if r["section"] == section and r["case"] not in out:
            out.append(r["case"])
    return out


def table_sessions(rows, section):
    lines = []
    for case in _cases(rows, section):
        cr = [r for r in rows if r["section"] == section and r["case"] == case]
        ref = _pftls_ref(cr)
        refv = med(ref["runs"], "cpu_us") if ref else 0
        lines += [f"\n**{case}**\n",
                  "| server | CPU µs/session (min–max) | /proc µs | sessions/s | handshake ms p50/p99 | resumed | errors | CPU × pftls |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for r in cr:
            runs = r["runs"]
            v = med(runs, "cpu_us")
            ratio = f"{v / refv:.2f}" if refv else "–"
            lines.append(f"| {r['peer']} | {v:.0f}{spread(runs, 'cpu_us')} | {med(runs, 'proc_cpu_us'):.0f} | "
                         f"{med(runs, 'sessions_per_s'):.0f} | "
                         f"{med(runs, 'handshake_ms_p50'):.2f} / {med(runs, 'handshake_ms_p99'):.2f} | "
                         f"{100 * med(runs, 'reuse_ratio'):.0f}% | {sum(x['errors'] for x in runs)} | {ratio} |")
    return lines


def table_bulk(rows):
    lines = []
    for case in _cases(rows, "bulk"):
        cr = [r for r in rows if r["section"] == "bulk" and r["case"] == case]
        ref = _pftls_ref(cr)
        refv = med(ref["runs"], "mb_per_cpu_s") if ref else 0
        lines += [f"\n**{case}**\n",
                  "| server | MB/s | server CPU µs per MB | MB per server CPU-s (min–max) | errors | MB/CPU-s ÷ pftls |",
                  "|---|---:|---:|---:|---:|---:|"]
        for r in cr:
            runs = r["runs"]
            v = med(runs, "mb_per_cpu_s")
            us_per_mb = 1e6 / v if v else 0
            ratio = f"{v / refv:.2f}" if refv else "–"
            lines.append(f"| {r['peer']} | {med(runs, 'mb_per_s'):.0f} | {us_per_mb:.0f} | {v:.0f}"
                         f"{spread(runs, 'mb_per_cpu_s')} | {sum(x['errors'] for x in runs)} | {ratio} |")
    return lines


def table_idle(rows):
    lines = []
    for case in _cases(rows, "idle"):
        cr = [r for r in rows if r["section"] == "idle" and r["case"] == case]
        ref = _pftls_ref(cr)
        refv = ref["runs"][0]["pss_kb_per_conn"] if ref else 0
        lines += [f"\n**{case}**\n",
                  "| server | held | RSS kB/conn | PSS kB/conn | PSS × pftls | tree RSS / PSS before (kB) |",
                  "|---|---:|---:|---:|---:|---:|"]
        for r in cr:
            x = r["runs"][0]
            ratio = f"{x['pss_kb_per_conn'] / refv:.2f}" if refv > 0 else "–"
            lines.append(f"| {r['peer']} | {x['held']} | {x['rss_kb_per_conn']:.1f} | {x['pss_kb_per_conn']:.1f} | "
                         f"{ratio} | {x['rss_kb_before']} / {x['pss_kb_before']} |")
    return lines


def _floor_for(floor, case):
    # case looks like "ecdsa TLS1.2 full" or "rsa TLS1.3 resumed/ticket"
    key, tls, kind = case.split()[0], case.split()[1][3:], case.split()[2]
    kt = "rsa2048" if key == "rsa" else "ecdsa-p256"
    kind = "full" if kind == "full" else kind.split("/")[1]
    for f in floor:
        if f["key"] == kt and f["tls"] == tls and f["kind"] == kind:
            return f["server_cpu_us"]
    return None


def goals(floor, rows):
    out = ["\n## Goals (issue 10)\n", "| goal | case | pftls | reference | met |", "|---|---|---:|---:|---|"]

    def add(goal, case, mine, ref, ok):
        out.append(f"| {goal} | {case} | {mine} | {ref} | {'yes' if ok else '**no**'} |")

    for case in _cases(rows, "handshake"):
        cr = [r for r in rows if r["section"] == "handshake" and r["case"] == case]
        ours = [r for r in cr if r["peer"].startswith("pftls")]
        # A resumed case compares with the peers that did resume (>= 90%).
        others = [r for r in cr if not r["peer"].startswith("pftls") and med(r["runs"], "cpu_us") > 0
                  and sum(x["errors"] for x in r["runs"]) == 0
                  and ("full" in case or med(r["runs"], "reuse_ratio") >= 0.9)]
        if not ours or not others:
            continue
        best = min(others, key=lambda r: med(r["runs"], "cpu_us"))
        bv = med(best["runs"], "cpu_us")
        fl = _floor_for(floor, case)
        for o in ours:
            v = med(o["runs"], "cpu_us")
            reuse = med(o["runs"], "reuse_ratio")
            label = case
            if "full" not in case and reuse < 0.9:
                label = f"{case} (pftls resumed only {100 * reuse:.0f}%)"
            add(f"{o['peer']} ≤ 0.8 × best peer", label, f"{v:.0f} µs", f"{best['peer']} {bv:.0f} µs → {0.8 * bv:.0f}",
                v <= 0.8 * bv)
            if fl and "full" in case:
                add(f"{o['peer']} ≤ 1.6 × libssl floor", case, f"{v:.0f} µs", f"floor {fl:.0f} µs → {1.6 * fl:.0f}",
                    v <= 1.6 * fl)
    for case in _cases(rows, "starttls"):
        cr = {r["peer"]: r for r in rows if r["section"] == "starttls" and r["case"] == case}
        if "pftls smtpfront" in cr and "postfix postscreen+tlsproxy" in cr:
            v = med(cr["pftls smtpfront"]["runs"], "cpu_us")
            p = med(cr["postfix postscreen+tlsproxy"]["runs"], "cpu_us")
            add("STARTTLS ≤ 0.5 × postscreen+tlsproxy", case, f"{v:.0f} µs", f"{p:.0f} µs → {0.5 * p:.0f}", v <= 0.5 * p)
    for case in _cases(rows, "bulk"):
        cr = [r for r in rows if r["section"] == "bulk" and r["case"] == case]
        ours = [r for r in cr if r["peer"].startswith("pftls")]
        others = [r for r in cr if not r["peer"].startswith("pftls")]
        if ours and others:
            best = max(others, key=lambda r: med(r["runs"], "mb_per_cpu_s"))
            bv = med(best["runs"], "mb_per_cpu_s")
            for o in ours:
                v = med(o["runs"], "mb_per_cpu_s")
                add("bulk MB per CPU-s ≥ 0.9 × best peer", case, f"{v:.0f}", f"{best['peer']} {bv:.0f} → {0.9 * bv:.0f}",
                    v >= 0.9 * bv)
    for case in _cases(rows, "idle"):
        cr = [r for r in rows if r["section"] == "idle" and r["case"] == case]
        ours = [r for r in cr if r["peer"].startswith("pftls")]
        others = [r for r in cr if not r["peer"].startswith("pftls")]
        if ours and others:
            best = min(others, key=lambda r: r["runs"][0]["pss_kb_per_conn"])
            bv = best["runs"][0]["pss_kb_per_conn"]
            for o in ours:
                v = o["runs"][0]["pss_kb_per_conn"]
                add(f"{o['peer']} idle PSS/conn ≤ best peer", case, f"{v:.1f} kB", f"{best['peer']} {bv:.1f} kB",
                    v <= bv)
    for r in rows:
        if r["section"] == "tlsmgr":
            v = med(r["runs"], "requests_per_s")
            add("tlsmgr ≥ 50,000 requests/s", r["case"], f"{v:.0f}/s", "50000/s", v >= 50000)
    return out


def render(meta, floor, rows, notes):
    L = [f"# pftls bench-compare, {meta['date']}\n",
         f"{'QUICK run (BENCH_QUICK=1): small counts, one repetition; not for quoting. ' if meta['quick'] else ''}"
         f"Repetitions: {meta['reps']} (medians; min–max in parentheses). Duration {meta.get('seconds', '?')} s. "
         f"Load average before {' '.join(meta['load'])}, after {' '.join(meta.get('load_after', []))} "
         "(other work on the machine makes sessions/s noisy; CPU µs per session is the robust figure).\n",
         "CPU µs/session = the server's CPU time after − before ÷ completed sessions, from a cgroup of its own "
         "(cpuacct.usage or cpu.stat: every process the server ever ran, exited ones included, to the µs) when "
         f"the machine offers one ({meta.get('cpu_source', '?')} in this run); the `/proc µs` column is the same "
         "from utime+stime+cutime+cstime summed over the process tree (10 ms ticks per process: coarse). "
         "The backend (benchsink) and the client are not counted. "
         "Handshake sessions are SMTP over implicit TLS (handshake, banner, EHLO, QUIT) through each server to "
         "the same SMTP sink (Postfix smtpd answers itself). `CPU × pftls` divides by the first pftls row.\n"]
    if floor:
        L += ["## libssl in-memory floor (build/bench/ssl_floor)\n",
              "| key | TLS | handshake | server CPU µs |", "|---|---|---|---:|"]
        L += [f"| {f['key']} | {f['tls']} | {f['kind']} | {f['server_cpu_us']:.0f} |" for f in floor]
    if any(r["section"] == "handshake" for r in rows):
        L += ["\n## Handshakes (implicit TLS + SMTP banner/EHLO/QUIT)"] + table_sessions(rows, "handshake")
    if any(r["section"] == "starttls" for r in rows):
        L += ["\n## STARTTLS sessions (banner, EHLO, STARTTLS, EHLO, QUIT)"] + table_sessions(rows, "starttls")
    if any(r["section"] == "bulk" for r in rows):
        L += ["\n## Bulk relay (raw TLS ⇄ backend)"] + table_bulk(rows)
    if any(r["section"] == "idle" for r in rows):
        L += ["\n## Memory per idle TLS connection (tree Rss/Pss delta)"] + table_idle(rows)
    for r in rows:
        if r["section"] == "tlsmgr":
            L += [f"\n## tlsmgr cache requests (build/bench/tlsmgr_bench -c 2): {r['case']}\n"]
            L += [f"- {x['line']}" for x in r["runs"]]
    L += goals(floor, rows)
    if notes:
        L += ["\n## Notes\n"] + [f"- {n}" for n in notes]
    return "\n".join(L) + "\n"
