"""frame.py - the common frame of t/faults/run.py: the checks after each
case (fresh clients served, fds back, messages delivered) and the client
helpers several cases share (held sessions, resumption, raw STARTTLS)."""
import os
import signal
import socket
import ssl
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402

BASE_PORT = int(os.environ.get("FAULTS_PORT", "25000"))
KEEP = os.environ.get("FAULTS_KEEP") == "1"


class CaseFailed(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise CaseFailed(msg)


def served_within(sysm, seconds):
    """Seconds until a fresh STARTTLS and a fresh wrapper client succeed."""
    t0 = time.monotonic()
    last = None
    while time.monotonic() - t0 < seconds:
        try:
            lib.starttls_session(sysm.port_st, timeout=seconds)
            lib.wrapper_session(sysm.port_wr, timeout=seconds)
            return time.monotonic() - t0
        except Exception as e:  # noqa: BLE001
            last = e
            time.sleep(0.05)
    raise CaseFailed(f"no fresh client served within {seconds}s: {last}")


def tcp_states(pid):
    """The state of each TCP socket pid holds (ss)."""
    import subprocess
    ss = subprocess.run(["ss", "-tanpH"], capture_output=True, text=True).stdout
    return [x.split()[0] for x in ss.splitlines() if f"pid={pid}," in x]


def fd_kinds(pid):
    """What a process holds: counts of its descriptors by kind and, for
    sockets, by TCP state (ss), for the failure message."""
    import collections
    import subprocess
    kinds = collections.Counter()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                kinds[os.readlink(f"/proc/{pid}/fd/{fd}").split(":")[0]] += 1
            except OSError:
                pass
    except OSError:
        return "gone"
    states = collections.Counter(tcp_states(pid))
    return " ".join(f"{k}={v}" for k, v in sorted(kinds.items())) + "; tcp " + \
        " ".join(f"{k}={v}" for k, v in sorted(states.items())) + "; unix peers " + \
        " ".join(f"{k}={v}" for k, v in sorted(lib.unix_peers(pid).items()))


def steady_fds(sysm, timeout=5):
    """sysm.fds() once two readings 0.3 s apart agree (a process that the
    last client made master start may still be setting up, e.g. reserving
    its sockets); after timeout, the last reading."""
    end = time.monotonic() + timeout
    last = sysm.fds()
    while True:
        time.sleep(0.3)
        now = sysm.fds()
        if now == last or time.monotonic() > end:
            return now
        last = now


def fds_settle(sysm, before, timeout=5):
    """Wait until every surviving PID of `before` is back at or below its fd
    count; returns (sum before, sum after)."""
    t0 = time.monotonic()
    end = t0 + timeout
    while True:
        now = sysm.fds()
        common = [p for p in before if p in now and now[p] >= 0]
        # (sysm.fds() leaves out the tlsmgr connections, see there)
        worse = [p for p in common if now[p] > before[p]]
        if not worse or time.monotonic() > end:
            b, a = sum(before[p] for p in common), sum(now[p] for p in common)
            check(not worse, "fd leak: " + ", ".join(f"{lib.comm(p)}[{p}] {before[p]}->{now[p]} ({fd_kinds(p)})"
                                                     for p in worse))
            return b, f"{a} after {time.monotonic() - t0:.1f}s"
        time.sleep(0.2)


def delivered_ok(sysm, load, before):
    ok, _ = load.summary()
    end = time.monotonic() + 5
    while len(sysm.delivered()) - before < ok and time.monotonic() < end:
        time.sleep(0.1)
    got = len(sysm.delivered()) - before
    check(got >= ok, f"load delivered {ok} but the sink holds {got}")
    return got


def run_case(n, name, body, sysm, allow_fail=None):
    """Common frame: fds before, load during, checks after."""
    served_within(sysm, 5)
    fds_before = steady_fds(sysm)
    n_before = len(sysm.delivered())
    load = lib.Load(sysm)
    load.start()
    try:
        time.sleep(0.5)
        figure = body(sysm, load)
    finally:
        load.finish()
    ok, bad = load.summary()
    if bad and not (allow_fail and allow_fail(load.records)):
        errs = sorted({r[4] for r in load.records if not r[2]})[:3]
        raise CaseFailed(f"{bad}/{ok + bad} load sessions failed: {errs}")
    served_within(sysm, 5)
    # case 7: smtpfront works through the flood's backlog of closed clients
    b, a = fds_settle(sysm, fds_before, 30 if n == 7 else 5)
    got = delivered_ok(sysm, load, n_before)
    why = f" ({'; '.join(sorted({r[4] for r in load.records if not r[2]})[:3])})" if bad else ""
    return f"{figure}; load {ok} ok/{bad} failed{why}; fds {b}->{a}; {got} messages delivered"
