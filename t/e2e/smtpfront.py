#!/usr/bin/env python3
"""smtpfront.py - smtpfront + our tlsproxy + our tlsmgr, run by Debian's
master(8), in front of t/tools/smtp_sink.py (issue 7 acceptance).

Cases: swaks --tls (STARTTLS) and --tlsc (wrapper), python smtplib
starttls()+sendmail(), openssl s_client -starttls smtp, gnutls-cli
--starttls-proto=smtp and posttls-finger (-l may; -w on the wrapper port)
each complete; the sink receives each message byte-exact and, through
XCLIENT, the client's real address; "STARTTLS\\r\\nRSET\\r\\n" in one write
never lets RSET's reply into TLS; level encrypt answers 530 to MAIL before
STARTTLS; level none offers no STARTTLS; with tlsproxy gone STARTTLS gets
454 and the session goes on in plaintext; a backend that accepts and never
greets gets the client "421 4.3.2" after smtpfront_timeout, and a client
that leaves meanwhile frees the backend connection at once; a wrapper-mode
client that never completes the TLS handshake never reaches the backend;
a backend that stops reading during DATA, and a client that pipelines
NOOPs without reading the replies, leave smtpfront's memory bounded and
the session ends; a client that half-closes after its commands still gets
every reply (smtpfront_backpressure.py).
Needs root; skips otherwise.
"""
import glob
import hashlib
import json
import os
import smtplib
import socket
import ssl
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import pfinstance  # noqa: E402
import smtpfront_backpressure  # noqa: E402
from pfinstance import Smtp, client_context  # noqa: E402

TOP = pfinstance.TOP
failures = []


def check(name, ok, detail=""):
    print(f"{'ok  ' if ok else 'FAIL'} {name}{': ' + detail if detail else ''}", flush=True)
    if not ok:
        failures.append(name)


class SinkProc:
    def __init__(self, xclient=True):
        self.port = pfinstance.free_port()
        self.spool = tempfile.mkdtemp(prefix="pftls-sink-")
        args = [sys.executable, os.path.join(TOP, "t/tools/smtp_sink.py"), "--listen", f"127.0.0.1:{self.port}",
                "--spool", self.spool] + ([] if xclient else ["--no-xclient"])
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
        self.proc.stdout.readline()

    def messages(self):
        out = []
        for meta in sorted(glob.glob(os.path.join(self.spool, "*.json"))):
            with open(meta) as f:
                m = json.load(f)
            with open(meta[:-5] + ".eml", "rb") as f:
                m["body"] = f.read()
            out.append(m)
        return out

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


def body(tag):
    return (f"From: a@example.com\r\nTo: b@example.com\r\nSubject: {tag}\r\n\r\n"
            f"hello from {tag}\r\n.leading dot line\r\n" + "x" * 3000 + "\r\n").encode()


def stuffed(tag):
    """The body as raw SMTP lines (LF; the clients add CR), dot-stuffed."""
    return "".join(("." + l if l.startswith(".") else l) + "\n"
                   for l in body(tag).decode().split("\r\n")[:-1])


def delivered(sink, tag, before, suffix=b""):
    want = hashlib.sha256(body(tag) + suffix).hexdigest()
    msgs = sink.messages()[before:]
    m = next((m for m in msgs if m["sha256"] == want), None)
    return m


class SilentBackend:
    """Accepts connections, never writes; records each connection and
    when its peer closed it."""

    def __init__(self):
        import threading
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(64)
        self.port = self.lsock.getsockname()[1]
        self.conns = []  # [accepted_at, closed_at or None]
        threading.Thread(target=self.run, daemon=True).start()

    def run(self):
        import selectors
        sel = selectors.DefaultSelector()
        sel.register(self.lsock, selectors.EVENT_READ)
        while True:
            for key, _ in sel.select():
                if key.fileobj is self.lsock:
                    c, _ = self.lsock.accept()
                    rec = [time.monotonic(), None]
                    self.conns.append(rec)
                    sel.register(c, selectors.EVENT_READ, rec)
                else:
                    try:
                        data = key.fileobj.recv(4096)
                    except OSError:
                        data = b""
                    if not data:
                        key.data[1] = time.monotonic()
                        sel.unregister(key.fileobj)
                        key.fileobj.close()


def backend_bounds(p_silent, p_wr_silent, silent):
    # A backend that never greets: the client gets 421 after the timeout.
    t0 = time.monotonic()
    with socket.create_connection(("127.0.0.1", p_silent), 10) as c:
        c.settimeout(10)
        reply = c.recv(512)
    took = time.monotonic() - t0
    check("silent backend: 421 after smtpfront_timeout (2s)", reply.startswith(b"421 4.") and 1.5 < took < 6,
          f"{reply!r} after {took:.1f}s")
    # A client that leaves before the greeting frees the backend at once.
    n = len(silent.conns)
    c = socket.create_connection(("127.0.0.1", p_silent), 10)
    end = time.monotonic() + 5
    while len(silent.conns) == n and time.monotonic() < end:
        time.sleep(0.05)
    c.close()
    t0 = time.monotonic()
    while len(silent.conns) > n and silent.conns[n][1] is None and time.monotonic() < t0 + 5:
        time.sleep(0.05)
    closed = len(silent.conns) > n and silent.conns[n][1] is not None
    check("client gone before the greeting: backend connection closed at once",
          closed and silent.conns[n][1] - t0 < 1.0,
          f"closed after {silent.conns[n][1] - t0:.2f}s" if closed else "not closed within 5s")
    # Wrapper mode: no backend connection until the TLS handshake is done.
    n = len(silent.conns)
    raw = socket.create_connection(("127.0.0.1", p_wr_silent), 10)
    time.sleep(1.0)
    without = len(silent.conns) - n
    raw.close()
    tls = client_context().wrap_socket(socket.create_connection(("127.0.0.1", p_wr_silent), 10),
                                       server_hostname="localhost")
    end = time.monotonic() + 5
    while len(silent.conns) - n < 1 and time.monotonic() < end:
        time.sleep(0.05)
    tls.close()
    check("wrapper: no backend connection before the handshake, one after it",
          without == 0 and len(silent.conns) - n == 1, f"before={without} after={len(silent.conns) - n}")


def main():
    if os.geteuid() != 0:
        print("skip: smtpfront e2e needs root (runs Debian's master(8))")
        return 0
    sink = SinkProc()
    p_st, p_wr, p_enc, p_none, p_silent, p_wr_silent, p_stall = (pfinstance.free_port() for _ in range(7))
    silent = SilentBackend()
    stall = smtpfront_backpressure.StallBackend()
    to_silent = f"-o smtpfront_relay=inet:127.0.0.1:{silent.port} -o smtpfront_timeout=2s"
    inst = pfinstance.Instance(
        ours={"tlsproxy": "build/bin/tlsproxy", "tlsmgr": "build/bin/tlsmgr", "smtpfront": "build/bin/smtpfront"},
        master_cf=f"""127.0.0.1:{p_st} inet n - n - - smtpfront
127.0.0.1:{p_wr} inet n - n - - smtpfront -o smtpfront_tls_wrappermode=yes
127.0.0.1:{p_enc} inet n - n - - smtpfront -o smtpfront_tls_security_level=encrypt
127.0.0.1:{p_none} inet n - n - - smtpfront -o smtpfront_tls_security_level=none
127.0.0.1:{p_silent} inet n - n - - smtpfront {to_silent}
127.0.0.1:{p_wr_silent} inet n - n - - smtpfront {to_silent} -o smtpfront_tls_wrappermode=yes
127.0.0.1:{p_stall} inet n - n - - smtpfront -o smtpfront_relay=inet:127.0.0.1:{stall.port} -o smtpfront_timeout=2s
tlsproxy unix - - n - 0 tlsproxy
tlsmgr unix - - n 1000? 1 tlsmgr
""",
        main_cf_extra=f"smtpfront_relay = inet:127.0.0.1:{sink.port}\ntlsproxy_tls_loglevel = 1\n")
    tmp = tempfile.mkdtemp(prefix="pftls-front-")
    try:
        inst.start(wait_for=("127.0.0.1", p_st))
        for p in (p_wr, p_enc, p_none, p_silent, p_wr_silent, p_stall):
            pfinstance.wait_port("127.0.0.1", p)
        run_cases(inst, sink, p_st, p_wr, p_enc, p_none, tmp)
        backend_bounds(p_silent, p_wr_silent, silent)
        smtpfront_backpressure.run(inst, p_stall, stall, check, p_st)
    finally:
        if failures:
            print("---- maillog (last 50 lines)\n" + "\n".join(inst.log().splitlines()[-50:]))
        inst.stop()
        sink.stop()
    print(f"smtpfront: {len(failures)} failed")
    return 1 if failures else 0


def send_with(name, cmd, sink, tag, stdin=None, timeout=60, suffix=b"", env=None):
    before = len(sink.messages())
    r = subprocess.run(cmd, input=stdin, capture_output=True, timeout=timeout, env=env)
    m = delivered(sink, tag, before, suffix)
    check(f"{name}: mail delivered byte-exact", m is not None,
          (r.stdout + r.stderr).decode(errors="replace")[-1200:] if m is None else "")
    return m


def run_cases(inst, sink, p_st, p_wr, p_enc, p_none, tmp):
    eml = os.path.join(tmp, "msg.eml")
    # swaks STARTTLS and wrapper
    for name, port, flag in (("swaks --tls", p_st, "--tls"), ("swaks --tlsc", p_wr, "--tlsc")):
        with open(eml, "wb") as f:
            f.write(body(name))
        m = send_with(name, ["swaks", "--server", f"127.0.0.1:{port}", flag, "--from", "a@example.com",
                             "--to", "b@example.com", "--data", eml], sink, name, suffix=b"\r\n")  # swaks adds CRLF
        if m:
            check(f"{name}: XCLIENT carried the client's address", (m.get("xclient") or {}).get("ADDR") == "127.0.0.1",
                  str(m.get("xclient")))
    # python smtplib
    before = len(sink.messages())
    try:
        with smtplib.SMTP("127.0.0.1", p_st, timeout=30) as s:
            s.ehlo("py.example")
            s.starttls(context=client_context())
            s.ehlo("py.example")
            s.sendmail("a@example.com", ["b@example.com"], body("smtplib"))
        check("python smtplib starttls()+sendmail(): mail delivered byte-exact",
              delivered(sink, "smtplib", before) is not None)
    except Exception as e:  # noqa: BLE001
        check("python smtplib starttls()+sendmail()", False, repr(e))
    # openssl s_client
    data = stuffed("s_client")
    script = f"EHLO s.example\nMAIL FROM:<a@example.com>\nRCPT TO:<b@example.com>\nDATA\n{data}.\nQUIT\n"
    send_with("openssl s_client -starttls smtp",
              ["openssl", "s_client", "-connect", f"127.0.0.1:{p_st}", "-starttls", "smtp", "-crlf", "-quiet",
               "-ign_eof", "-nocommands"], sink, "s_client", stdin=script.encode())
    # gnutls-cli: STARTTLS is raised by SIGALRM-free --starttls-proto
    data = stuffed("gnutls")
    script = f"EHLO g.example\nMAIL FROM:<a@example.com>\nRCPT TO:<b@example.com>\nDATA\n{data}.\nQUIT\n"
    # gnutls-cli sends close_notify when its stdin ends: keep stdin open
    # until the dialogue is over, as an interactive user would. Its --crlf
    # corrupts multi-line reads (Debian 3.7.9), so CRLF is written here.
    with open(os.path.join(tmp, "gnutls.txt"), "w", newline="") as f:
        f.write(script.replace("\n", "\r\n"))
    send_with("gnutls-cli --starttls-proto=smtp",
              ["sh", "-c", f"(cat {tmp}/gnutls.txt; sleep 3) | gnutls-cli --insecure --starttls-proto=smtp "
               f"--port {p_st} 127.0.0.1"], sink, "gnutls")
    # posttls-finger: TLS session summary, STARTTLS and wrapper
    for name, args in (("posttls-finger -l may", ["-l", "may", f"[127.0.0.1]:{p_st}"]),
                       ("posttls-finger -w", ["-w", "-l", "may", f"[127.0.0.1]:{p_wr}"])):
        r = subprocess.run(["posttls-finger", "-c"] + args, capture_output=True, text=True, timeout=60,
                           env=dict(os.environ, MAIL_CONFIG=inst.etc))
        out = r.stdout + r.stderr
        check(f"{name}: TLS connection established", "TLS connection established" in out, out[-300:])
    # STARTTLS injection: RSET pipelined after STARTTLS must vanish
    c = Smtp("127.0.0.1", p_st)
    c.reply()
    c.cmd("EHLO inject.example")
    c.sock.sendall(b"STARTTLS\r\nRSET\r\n")
    code, _ = c.reply()
    c.tls = client_context().wrap_socket(c.sock, server_hostname="localhost")
    code2, lines = c.cmd("EHLO inject.example")
    c.cmd("QUIT")
    c.close()
    check("STARTTLS\\r\\nRSET\\r\\n: first reply inside TLS is EHLO's", code == 220 and code2 == 250 and
          len(lines) > 1, f"{code} {code2} {lines[:2]}")
    check("injected bytes are logged", inst.wait_log(r"discarding 6 bytes of input sent after STARTTLS", 5) is not None)
    # encrypt level
    c = Smtp("127.0.0.1", p_enc)
    c.reply()
    _, ehlo = c.cmd("EHLO enc.example")
    code, lines = c.cmd("MAIL FROM:<a@example.com>")
    c.cmd("QUIT")
    c.close()
    check("level encrypt: MAIL before STARTTLS gets 530", code == 530 and "Must issue a STARTTLS" in lines[0],
          lines[0])
    check("level encrypt: STARTTLS offered", any("STARTTLS" in l for l in ehlo))
    # none level
    c = Smtp("127.0.0.1", p_none)
    c.reply()
    _, ehlo = c.cmd("EHLO none.example")
    c.cmd("QUIT")
    c.close()
    check("level none: no STARTTLS in EHLO", not any("STARTTLS" in l for l in ehlo), str(ehlo))
    # tlsproxy gone: 454 and plaintext continues
    sock = os.path.join(inst.queue, "private", "tlsproxy")
    os.rename(sock, sock + ".away")
    try:
        c = Smtp("127.0.0.1", p_st)
        c.reply()
        c.cmd("EHLO plain.example")
        code, lines = c.cmd("STARTTLS")
        code2, _ = c.cmd("NOOP")
        c.cmd("QUIT")
        c.close()
        check("tlsproxy absent: STARTTLS gets 454, plaintext session goes on",
              code == 454 and lines[0].startswith("454 4.7.0 TLS not available due to local problem") and code2 == 250,
              f"{lines} {code2}")
    finally:
        os.rename(sock + ".away", sock)


if __name__ == "__main__":
    sys.exit(main())
