"""smtpfront_backpressure.py - smtpfront's queues stay bounded when a peer
stops reading (used by smtpfront.py; needs its instance).

A StallBackend greets, answers every command line "250 ok" and answers
DATA with "354" and then never reads again. Two cases, each on an
smtpfront service relaying to it with smtpfront_timeout=2s:

- a client streams message content (up to 128 MiB) into the stalled
  backend: smtpfront's memory grows by at most a few MiB, the client is
  blocked by TCP, and the session ends a few seconds later;
- a client pipelines NOOPs (up to 128 MiB) and never reads a reply:
  the same bounds.

Without backpressure smtpfront queued everything: its RSS grew by the
size of the flood and the session never ended while the client sent.

Half-close: a client that sends its commands and then shuts down its
write side still gets every reply - "EHLO, QUIT" to the sink ends with
its 221, and 100,000 pipelined NOOPs (more than the 256 KiB that make
smtpfront hold input back) get 100,000 replies. Before, the EOF ended
the session at once and the replies were lost.
"""
import socket
import threading
import time

FLOOD = 128 << 20      # bytes the client tries to send
RSS_BOUND_KB = 8 << 10  # smtpfront's growth allowed (2 x 256 KiB queues, with slack)
END_WITHIN = 10.0      # seconds from the start of the flood until the session is gone


class StallBackend:
    def __init__(self):
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(16)
        self.port = self.lsock.getsockname()[1]
        self.stalled = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            c, _ = self.lsock.accept()
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        try:
            c.sendall(b"220 stall.example ESMTP\r\n")
            buf = b""
            while True:
                d = c.recv(1 << 16)
                if not d:
                    return
                buf += d
                *lines, buf = buf.split(b"\r\n")
                verbs = [line.upper() for line in lines]
                if b"DATA" in verbs:
                    c.sendall(b"250 ok\r\n" * verbs.index(b"DATA") + b"354 go ahead\r\n")
                    self.stalled += 1
                    time.sleep(3600)  # never read again; the thread dies with the test
                if lines:
                    c.sendall(b"250 ok\r\n" * len(lines))
        except OSError:
            pass
        finally:
            c.close()


def rss_kb(pids):
    out = {}
    for p in pids:
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        out[p] = int(line.split()[1])
        except OSError:
            pass
    return out


def expect(sock, prefix, deadline=10.0):
    sock.settimeout(deadline)
    buf = b""
    while prefix not in buf:
        d = sock.recv(4096)
        if not d:
            break
        buf += d
    return prefix in buf


def flood(inst, port, setup, chunk, check, name):
    """Connect, run setup (commands and the replies awaited), then send
    chunk repeatedly without reading until FLOOD bytes or an error; watch
    smtpfront's RSS meanwhile."""
    c = socket.create_connection(("127.0.0.1", port), 10)
    ok = expect(c, b"220 ")
    for cmd, reply in setup:
        c.sendall(cmd)
        ok = ok and expect(c, reply)
    if not ok:
        check(f"{name}: session set up", False)
        c.close()
        return
    base = rss_kb(inst.pids("smtpfront"))
    state = {"sent": 0, "error": None, "ended": None}

    def sender():
        c.settimeout(30)
        try:
            while state["sent"] < FLOOD:
                state["sent"] += c.send(chunk)
        except OSError as e:
            state["error"] = e.strerror or repr(e)
        state["ended"] = time.monotonic()

    t0 = time.monotonic()
    th = threading.Thread(target=sender, daemon=True)
    th.start()
    grew = 0
    while th.is_alive() and time.monotonic() < t0 + END_WITHIN + 5:
        now = rss_kb(base)
        grew = max([grew] + [now[p] - base[p] for p in now])
        time.sleep(0.05)
    th.join(1)
    c.close()
    took = (state["ended"] or time.monotonic()) - t0
    check(f"{name}: smtpfront grew by < {RSS_BOUND_KB // 1024} MiB", grew < RSS_BOUND_KB,
          f"grew {grew} kB while the client sent {state['sent'] >> 20} MiB")
    check(f"{name}: session ended (client blocked, then dropped) within {END_WITHIN:.0f}s",
          state["sent"] < FLOOD and state["error"] is not None and took < END_WITHIN,
          f"sent {state['sent'] >> 20} MiB, {state['error']} after {took:.1f}s")


def half_close(port, payload, want, check, name):
    c = socket.create_connection(("127.0.0.1", port), 10)
    greeting = expect(c, b"220 ")  # a client that waits for the greeting (before it, EOF ends all)
    c.settimeout(20)

    def sender():
        try:
            c.sendall(payload)
            c.shutdown(socket.SHUT_WR)
        except OSError:
            pass
    th = threading.Thread(target=sender, daemon=True)
    th.start()
    got = bytearray()
    try:
        while True:
            d = c.recv(1 << 16)
            if not d:
                break
            got += d
    except OSError as e:
        got += f"[{e}]".encode()
    th.join(5)
    c.close()
    ok, detail = want(bytes(got))
    check(f"half-close: {name}", greeting and ok, detail)


def run(inst, port, backend, check, sink_port):
    def ends_with_221(got):
        return got.rstrip().split(b"\r\n")[-1].startswith(b"221 "), repr(got[-80:])
    half_close(sink_port, b"EHLO x.example\r\nQUIT\r\n", ends_with_221, check,
               "EHLO, QUIT and EOF: every reply, 221 last")
    n = 100000

    def all_replies(got):
        k = got.count(b"250 ok\r\n")
        return k == n + 1, f"{k} of {n + 1} replies"
    half_close(port, b"NOOP\r\n" * n + b"QUIT\r\n", all_replies, check,
               f"{n} pipelined NOOPs, QUIT and EOF: every reply")
    stalled = backend.stalled
    flood(inst, port, [(b"MAIL FROM:<a@example.com>\r\n", b"250 "), (b"RCPT TO:<b@example.com>\r\n", b"250 "),
                 (b"DATA\r\n", b"354 ")], b"x" * 65534 + b"\r\n", check, "stalled backend during DATA")
    check("stalled backend: it did stall", backend.stalled == stalled + 1)
    flood(inst, port, [(b"NOOP\r\n", b"250 ")], b"NOOP\r\n" * 10000, check, "client never reads its replies")
