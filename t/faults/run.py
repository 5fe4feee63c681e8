#!/usr/bin/env python3
"""run.py - `make check-faults`: fault tolerance and hostile input (issue 11).

    python3 t/faults/run.py [CASE ...]      (root; FAULTS_KEEP=1 keeps the dirs)

Starts the real system under our master on 127.0.0.1 (t/faults/lib.py),
runs a background load of normal STARTTLS and wrapper clients during each
case, and after each case asserts: a fresh client of each kind is served,
no surviving daemon leaked fds (/proc/PID/fd before and after), and every
message the load delivered reached the sink. Prints one line per case:
"case N NAME: ok|FAILED FIGURE". Exits 1 on any failure. Ports 25000-25099.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from frame import *  # noqa: E402,F401,F403
from cases_a import *  # noqa: E402,F401,F403
from cases_b import *  # noqa: E402,F401,F403


def load_allows_outage(max_fail_s):
    """Load failures allowed only within max_fail_s of each other (one outage)."""
    def allow(records):
        bad = [r[0] for r in records if not r[2]]
        return not bad or max(bad) - min(bad) <= max_fail_s
    return allow


CASES = [
    (1, "kill-9-tlsproxy", case_kill_proxy, load_allows_outage(2.5)),
    (2, "tlsmgr-kill-stop", case_tlsmgr, None),
    (8, "garbage-resets", case_garbage, None),
    (6, "slowloris", case_slowloris, None),
    (9, "reload-certificate", case_reload, None),
    (3, "bad-service-throttled", case_bad_service, None),
    (5, "sqlite-cache-damage", case_cache, None),
    (10, "soak-sha256", case_soak, None),
    (4, "prng-exchange-file", case_exchange, None),
    (7, "flood-fd-limit", case_flood, lambda records: True),
    (11, "testssl", case_testssl, None),
]


def main():
    if os.geteuid() != 0:
        print("check-faults: SKIPPED (needs root: master binds and drops to pftls)")
        return 0
    want = set(int(a) for a in sys.argv[1:])
    failed = []
    sysm = lib.System(BASE_PORT)
    try:
        sysm.start()
        for n, name, body, allow in CASES:
            if want and n not in want:
                continue
            t0 = time.monotonic()
            try:
                fig = run_case(n, name, body, sysm, allow)
                print(f"case {n} {name}: ok {fig} ({time.monotonic() - t0:.1f}s)", flush=True)
            except Exception as e:  # noqa: BLE001 - any error fails the case, the suite goes on
                failed.append(f"case {n} {name}: FAILED {e}")
                print(failed[-1], flush=True)
                if sysm.master is None or sysm.master.poll() is not None:
                    sysm.stop()
                    sysm.start()
        # The suite kills with SIGKILL only: any other death by a signal
        # (SIGSYS from the sandbox, SIGSEGV, SIGABRT) is a defect it found.
        deaths = [x for x in sysm.logtext().splitlines()
                  if "killed by signal" in x and not x.rstrip().endswith("killed by signal 9")]
        if deaths:
            failed.append(f"case - deaths: FAILED {len(deaths)} process(es) died of a signal: {deaths[:3]}")
            print(failed[-1], flush=True)
        else:
            print("case - deaths: ok no process died of a signal the suite did not send", flush=True)
    finally:
        if failed:
            print("--- master log tail\n" + sysm.logtext()[-3000:])
            print("--- failed cases (repeated from above)\n" + "\n".join(failed), flush=True)
        sysm.cleanup(KEEP or bool(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
