"""cases_a.py - check-faults cases 1, 2, 8, 6, 9, 3 (see run.py)."""
import os
import signal
import socket
import ssl
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402
from frame import *  # noqa: E402,F401,F403


# ---- case 1: kill -9 a tlsproxy holding sessions --------------------------

def hold_sessions(sysm, count):
    socks = []
    for i in range(count):
        raw = socket.create_connection(("127.0.0.1", sysm.port_wr), 5)
        tls = lib.client_ctx().wrap_socket(raw, server_hostname="localhost")
        f = tls.makefile("rb")
        check(f.readline().startswith(b"220"), "held session: no greeting")
        socks.append((tls, f))
    return socks


def alive(sess):
    tls, f = sess
    try:
        tls.settimeout(3)
        tls.sendall(b"NOOP\r\n")
        return f.readline().startswith(b"250")
    except (OSError, ssl.SSLError):
        return False


def case_kill_proxy(sysm, load):
    held = hold_sessions(sysm, 8)
    proxies = sysm.pids("tlsproxy")
    check(proxies, "no tlsproxy process")
    victim = max(proxies, key=lib.nfds)
    # tlsproxy's TCP sockets are its sessions' client connections: the
    # held sessions that may end are at most the victim's.
    in_victim = sum(1 for st in tcp_states(victim) if st == "ESTAB")
    os.kill(victim, signal.SIGKILL)
    t0 = time.monotonic()
    rec = served_within(sysm, 2)
    time.sleep(0.3)
    states = [alive(s) for s in held]
    for tls, f in held:
        try:
            tls.close()
        except OSError:
            pass
    end = time.monotonic() + 3
    while f"pid {victim} killed by signal 9" not in sysm.logtext() and time.monotonic() < end:
        time.sleep(0.1)
    check(f"pid {victim} killed by signal 9" in sysm.logtext(), "master did not log the death")
    check(states.count(False) <= in_victim,
          f"{states.count(False)} held sessions ended, the killed tlsproxy had only {in_victim}")
    del t0
    return (f"{len(proxies)} tlsproxy, killed pid {victim} ({in_victim} sessions): {states.count(False)}/"
            f"{len(held)} held sessions ended; new client served in {rec:.2f}s")


# ---- case 2: kill -9 / kill -STOP tlsmgr ----------------------------------

def resumes(sysm, within=5, tickets=True):
    """Seconds until a TLS 1.2 session on the wrapper port is resumed
    (without tickets: from tlsmgr's session cache)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < within:
        ctx = lib.tls12_ctx(tickets)
        try:
            sess, _, _ = lib.wrapper_session(sysm.port_wr, ctx=ctx, body=None)
            _, reused, _ = lib.wrapper_session(sysm.port_wr, ctx=ctx, session=sess, body=None)
            if reused:
                return time.monotonic() - t0
        except Exception:  # noqa: BLE001
            pass
        time.sleep(0.2)
    raise CaseFailed(f"no TLS 1.2 resumption within {within}s")


def max_latency(load, since):
    lat = [r[3] for r in load.records if r[0] >= since]
    return max(lat) if lat else 0.0, len(lat)


def case_tlsmgr(sysm, load):
    resumes(sysm)
    mgr = sysm.pids("tlsmgr")
    check(len(mgr) == 1, f"expected one tlsmgr, found {mgr}")
    t_kill = time.monotonic()
    os.kill(mgr[0], signal.SIGKILL)
    time.sleep(3)
    # Session-id resumption needs tlsmgr's cache: the next lookup starts a
    # new tlsmgr on demand (TLS 1.3 handshakes and tickets alone do not
    # need it, so nothing else may have asked for one yet).
    r1 = resumes(sysm, within=8, tickets=False)
    mgr2 = sysm.pids("tlsmgr")
    check(mgr2 and mgr2 != mgr, "tlsmgr not restarted after kill -9")
    lat_kill, n_kill = max_latency(load, t_kill)
    t_stop = time.monotonic()
    os.kill(mgr2[0], signal.SIGSTOP)
    try:
        time.sleep(10)
        lat_stop, n_stop = max_latency(load, t_stop)
        ok_stop = [r for r in load.records if r[0] >= t_stop and r[2]]
    finally:
        os.kill(mgr2[0], signal.SIGCONT)
    r2 = resumes(sysm, within=8, tickets=False)
    check(lat_kill <= 2.0, f"handshake took {lat_kill:.2f}s after kill -9")
    check(lat_stop <= 2.0, f"handshake took {lat_stop:.2f}s while tlsmgr stopped")
    check(len(ok_stop) > 0, "no session succeeded while tlsmgr was stopped")
    return (f"kill -9: {n_kill} sessions max {lat_kill:.2f}s, session-cache resumption again after {r1:.1f}s; "
            f"STOP 10s: {n_stop} sessions max {lat_stop:.2f}s, session-cache resumption {r2:.1f}s after CONT")


# ---- case 8: garbage and resets -------------------------------------------

def client_hello_bytes():
    ctx = lib.client_ctx()
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


GARBAGE = {
    "random": os.urandom(700),
    "http": b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n",
    "nuls": b"\0" * 512,
    "oversized-record": b"\x16\x03\x01\xff\xff" + b"\x01" * 64,
    "sslv2-hello": bytes([0x80, 0x2e, 0x01, 0x00, 0x02, 0x00, 0x15, 0x00, 0x00, 0x00, 0x10])
    + bytes([0x01, 0x00, 0x80, 0x03, 0x00, 0x80, 0x07, 0x00, 0xc0]) * 2 + bytes([0, 0, 0x04]) + os.urandom(16),
}


def open_stage(sysm, mode):
    """A raw socket on the wrapper port, or on the STARTTLS port after the
    server's 220 to STARTTLS."""
    if mode == "wrapper":
        return socket.create_connection(("127.0.0.1", sysm.port_wr), 5)
    s = socket.create_connection(("127.0.0.1", sysm.port_st), 5)
    f = s.makefile("rb")
    f.readline()
    s.sendall(b"EHLO x\r\n")
    while True:
        line = f.readline()
        if not line or line[3:4] == b" ":
            break
    s.sendall(b"STARTTLS\r\n")
    check(f.readline().startswith(b"220"), "no 220 to STARTTLS")
    f.close()
    return s


def drain_closed(s, timeout=10):
    s.settimeout(timeout)
    try:
        while s.recv(4096):
            pass
        return True
    except (socket.timeout, TimeoutError):
        return False
    except OSError:
        return True
    finally:
        s.close()


def reset(s):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


def case_garbage(sysm, load):
    pids = {p: lib.comm(p) for p in sysm.pids() + [sysm.master.pid]}
    log0 = len(sysm.logtext())
    closed = 0
    for mode in ("starttls", "wrapper"):
        for name, data in GARBAGE.items():
            s = open_stage(sysm, mode)
            try:
                s.sendall(data)
            except OSError:
                pass
            check(drain_closed(s), f"{mode}/{name}: connection not closed within 10s")
            closed += 1
    hello = client_hello_bytes()
    resets = 0
    for i in range(200):
        stage = i % 4
        mode = "wrapper" if i % 8 < 4 else "starttls"
        if stage == 0:
            s = socket.create_connection(("127.0.0.1", sysm.port_wr if mode == "wrapper" else sysm.port_st), 5)
        else:
            s = open_stage(sysm, mode)
            if stage >= 2:
                s.sendall(hello[: len(hello) // 2] if stage == 2 else hello)
            if stage == 3:
                s.settimeout(5)
                try:
                    s.recv(100)
                except OSError:
                    pass
        reset(s)
        resets += 1
    time.sleep(0.5)
    gone = [f"{c}[{p}]" for p, c in pids.items() if not os.path.exists(f"/proc/{p}")]
    log = sysm.logtext()[log0:]
    bad = [line for line in log.splitlines() if "killed by signal" in line or "exit status" in line
           or "fatal" in line or "panic" in line]
    check(not gone, f"processes died: {gone}; log: {bad[:3]}")
    check(not bad, f"abnormal exits: {bad[:3]}")
    return f"{closed} garbage inputs closed, {resets} resets at 4 stages, all {len(pids)} PIDs survived"


# ---- case 6: slowloris ----------------------------------------------------

TLS_TIMEOUT = 5  # smtpfront_tls_timeout in lib.System's main.cf


def case_slowloris(sysm, load):
    import selectors
    hello = client_hello_bytes()
    sel = selectors.DefaultSelector()
    socks = {}  # sock -> [kind, t_start, bytes sent, t_closed]
    for i in range(200):
        kind = "dribble" if i < 100 else "silent"
        mode = "wrapper" if (kind == "dribble" and i % 2) else "starttls"
        s = open_stage(sysm, mode)
        s.setblocking(False)
        socks[s] = [kind, time.monotonic(), 0, None]
        sel.register(s, selectors.EVENT_READ)
    end = time.monotonic() + TLS_TIMEOUT + 8
    next_byte = time.monotonic()
    while time.monotonic() < end and any(v[3] is None for v in socks.values()):
        now = time.monotonic()
        if now >= next_byte:
            for s, v in socks.items():
                if v[0] == "dribble" and v[3] is None and v[2] < len(hello):
                    try:
                        s.send(hello[v[2]:v[2] + 1])
                        v[2] += 1
                    except OSError:
                        v[3] = now
                        sel.unregister(s)
            next_byte = now + 2
        for key, _ in sel.select(timeout=0.1):
            s = key.fileobj
            try:
                data = s.recv(4096)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                socks[s][3] = time.monotonic()
                sel.unregister(s)
    open_left = sum(1 for v in socks.values() if v[3] is None)
    worst = max((v[3] - v[1]) for v in socks.values() if v[3] is not None)
    for s in socks:
        s.close()
    check(open_left == 0, f"{open_left} slow clients still open after {TLS_TIMEOUT + 8}s")
    check(worst <= TLS_TIMEOUT + 1, f"a slow client was closed only after {worst:.1f}s")
    lat, n = max_latency(load, 0)
    check(lat <= 2.0, f"a normal session took {lat:.2f}s during the slowloris")
    return (f"200 slow clients (100 dribbling, 100 silent) all closed, worst {worst:.1f}s "
            f"(timeout {TLS_TIMEOUT}s); normal sessions max {lat:.2f}s")


# ---- case 9: reload with a new certificate, then with a broken key --------

def cert_der(path):
    with open(path) as f:
        return ssl.PEM_cert_to_DER_cert(f.read())


def sees_cert(sysm, der, within):
    t0 = time.monotonic()
    while time.monotonic() - t0 < within:
        try:
            if lib.wrapper_session(sysm.port_wr, body=None)[2] == der and \
               lib.starttls_session(sysm.port_st, body=None)[2] == der:
                return time.monotonic() - t0
        except Exception:  # noqa: BLE001
            pass
        time.sleep(0.2)
    raise CaseFailed(f"new clients did not see the expected certificate within {within}s")


def case_reload(sysm, load):
    old_key, old_crt = sysm.key, sysm.crt
    held = hold_sessions(sysm, 1)[0]
    key, crt = lib.make_cert(sysm.work, "second", "second.localhost")
    sysm.set_cert(key, crt)
    t_new = sees_cert(sysm, cert_der(crt), 5)
    tls, f = held
    tls.sendall(b"EHLO held\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n")
    lines = []
    while len([x for x in lines if x[3:4] == b" "]) < 4:
        lines.append(f.readline())
    tls.sendall(b"held across the reload\r\n.\r\nQUIT\r\n")
    check(f.readline().startswith(b"250"), "the session open across the reload did not complete")
    tls.close()
    # A reload with a broken key: the processes of the previous
    # configuration keep serving the certificate they have, one error.
    bad = os.path.join(sysm.work, "broken.key")
    with open(bad, "w") as fh:
        fh.write("-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n")
    log0 = len(sysm.logtext())
    sysm.set_cert(bad, crt)
    end = time.monotonic() + 5
    kept = 0
    while time.monotonic() < end:
        check(lib.wrapper_session(sysm.port_wr, body=None)[2] == cert_der(crt) and
              lib.starttls_session(sysm.port_st, body=None)[2] == cert_der(crt),
              "after a reload with a broken key new clients did not get the previous certificate")
        kept += 2
        time.sleep(0.2)
    log = sysm.logtext()[log0:]
    errors = [x for x in log.splitlines() if "error: reload: service" in x]
    check(len(errors) == 1 and "tlsproxy" in errors[0],
          f"expected one reload error naming tlsproxy, got {len(errors)}: {errors[:3]}")
    check("throttling" not in log, "master throttled a service after the broken-key reload")
    sysm.set_cert(old_key, old_crt)
    t_fixed = sees_cert(sysm, cert_der(old_crt), 5)
    return (f"held session completed across the reload; new certificate seen after {t_new:.1f}s; "
            f"broken key: {kept} sessions kept the previous certificate for 5s, 1 error logged; "
            f"fixed key served after {t_fixed:.1f}s")


# ---- case 3: a service that fails at start --------------------------------

def case_bad_service(sysm, load):
    log0 = len(sysm.logtext())
    bad_port = sysm.port_st + 3
    sysm.extra_services = f"127.0.0.1:{bad_port} inet n - y - 1 smtpfront -o smtpfront_relay=bogus:/nonexistent\n"
    sysm.write_config()
    os.kill(sysm.master.pid, signal.SIGHUP)
    end = time.monotonic() + 10
    tries = 0
    while time.monotonic() < end:  # clients keep the bad service wanted
        try:
            c = socket.create_connection(("127.0.0.1", bad_port), 1)
            c.settimeout(0.5)
            try:
                c.recv(100)
            except OSError:
                pass
            c.close()
            tries += 1
        except OSError:
            pass
        time.sleep(0.1)
    log = sysm.logtext()[log0:]
    sysm.extra_services = ""
    sysm.write_config()
    os.kill(sysm.master.pid, signal.SIGHUP)
    starts = sum(1 for x in log.splitlines() if "fatal" in x and "smtpfront_relay" in x)
    throttled = "bad command startup -- throttling" in log
    check(starts >= 1, "the bad service was never started")
    check(throttled, "no 'bad command startup -- throttling' logged")
    check(starts <= 3, f"fork storm: {starts} failed starts in 10s")
    lat, n = max_latency(load, 0)
    check(lat <= 2.0, f"a normal session took {lat:.2f}s")
    return f"{tries} clients at the bad service, {starts} failed start(s) in 10s, throttled; {n} normal sessions max {lat:.2f}s"
