#!/usr/bin/env python3
"""tlsfront.py - acceptance test for tlsfront(8) (issue 12).

Runs our master with tlsmgr, tlsproxy and four tlsfront services on
127.0.0.1 (ports 21000-21003) in a throwaway instance, with local backends:
  21000 -> python http.server (21010), tlsfront_tls_alpn = h2,http/1.1
  21001 -> PROXY v2 test listener (21011)
  21002 -> PROXY v1 test listener (21012)
  21003 -> bulk backend (21013): "PUT" hashes until EOF and replies the
           SHA-256; "HALF" replies only after EOF
Asserts: curl body byte-exact; openssl s_client -alpn h2 sees h2 and the
log names it; 64 MiB download (curl) and upload (python ssl) byte-exact by
SHA-256; PROXY v2 header fields (addresses, ports, TLS version, cipher,
ALPN TLV) and v1 line; half-close with close_notify: the backend's reply
after EOF arrives in full. Needs root; skips otherwise.
"""
import hashlib
import http.server
import os
import re
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.join(TOP, "build", "bin")
BASE = int(os.environ.get("TLSFRONT_TEST_PORT", "21000"))
P_HTTP, P_V2, P_V1, P_BULK, P_DEAD, P_CAP = BASE, BASE + 1, BASE + 2, BASE + 3, BASE + 4, BASE + 5
P_OLD = BASE + 6  # tlsfront_direct_relay = no: tlsfront relays the plaintext itself
B_HTTP, B_V2, B_V1, B_BULK, B_DEAD = BASE + 10, BASE + 11, BASE + 12, BASE + 13, BASE + 14
BIG = 64 * 1024 * 1024
DEADLINE = time.monotonic() + 110

fails = 0


def ok(cond, what, detail=""):
    global fails
    if cond:
        print("ok   " + what)
    else:
        fails += 1
        print("FAIL " + what + (": " + str(detail)[:400] if detail else ""))


def listener(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(16)
    return s


def serve(sock, handler):
    def loop():
        while True:
            try:
                c, _ = sock.accept()
            except OSError:
                return
            c.settimeout(60)
            threading.Thread(target=handler, args=(c,), daemon=True).start()
    threading.Thread(target=loop, daemon=True).start()


def read_exact(c, n):
    buf = b""
    while len(buf) < n:
        d = c.recv(n - len(buf))
        if not d:
            raise EOFError("short read")
        buf += d
    return buf


def parse_v2(c):
    head = read_exact(c, 16)
    if head[:12] != b"\r\n\r\n\x00\r\nQUIT\n":
        return {"error": "bad signature %r" % head[:12]}
    ver_cmd, fam, length = head[12], head[13], struct.unpack("!H", head[14:16])[0]
    body = read_exact(c, length)
    out = {"ver_cmd": ver_cmd, "fam": fam}
    if fam == 0x11:
        out["src"] = socket.inet_ntoa(body[0:4])
        out["dst"] = socket.inet_ntoa(body[4:8])
        out["sport"], out["dport"] = struct.unpack("!HH", body[8:12])
        tlvs = body[12:]
    else:
        tlvs = b""
    i = 0
    while i + 3 <= len(tlvs):
        t, l = tlvs[i], struct.unpack("!H", tlvs[i + 1:i + 3])[0]
        v = tlvs[i + 3:i + 3 + l]
        i += 3 + l
        if t == 0x01:
            out["alpn"] = v.decode()
        elif t == 0x20:
            out["ssl_client"] = v[0]
            out["ssl_verify"] = struct.unpack("!I", v[1:5])[0]
            j = 5
            while j + 3 <= len(v):
                st, sl = v[j], struct.unpack("!H", v[j + 1:j + 3])[0]
                out["ssl_%02x" % st] = v[j + 3:j + 3 + sl].decode()
                j += 3 + sl
    if i != len(tlvs):
        out["error"] = "TLV lengths do not add up"
    return out


def v2_handler(c):
    with c:
        info = parse_v2(c)
        payload = c.recv(100)
        c.sendall(repr((info, payload)).encode() + b"\n")


def v1_handler(c):
    with c:
        line = b""
        while not line.endswith(b"\r\n") and len(line) < 108:
            d = c.recv(1)
            if not d:
                break
            line += d
        payload = c.recv(100)
        c.sendall(repr((line, payload)).encode() + b"\n")


def bulk_handler(c):
    with c:
        cmd = b""
        while not cmd.endswith(b"\n"):
            d = c.recv(1)
            if not d:
                return
            cmd += d
        h = hashlib.sha256()
        n = 0
        while True:
            d = c.recv(1 << 16)
            if not d:
                break
            h.update(d)
            n += len(d)
        # Reply only now, after the client's EOF (half-close).
        if cmd == b"PUT\n":
            c.sendall(("%d %s\n" % (n, h.hexdigest())).encode())
        else:
            c.sendall(b"after-eof:" + b"x" * 200000 + b":end\n")


def client_ctx():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def tls_connect(port, alpn=None):
    raw = socket.create_connection(("127.0.0.1", port), timeout=30)
    ctx = client_ctx()
    if alpn:
        ctx.set_alpn_protocols(alpn)
    return raw, ctx.wrap_socket(raw, server_hostname="localhost")


def half_close_exchange(port, first, body, fin=False):
    """Send first+body over TLS with an SSLObject, then close_notify (no
    TCP FIN), or with fin a bare TCP FIN (no close_notify); keep reading
    until the peer closes; return (reply, error)."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=60)
    inc, outg = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = client_ctx().wrap_bio(inc, outg, server_hostname="localhost")

    def flush():
        d = outg.read()
        if d:
            raw.sendall(d)

    def pull():
        d = raw.recv(1 << 16)
        if not d:
            inc.write_eof()
            return False
        inc.write(d)
        return True

    while True:
        try:
            obj.do_handshake()
            break
        except ssl.SSLWantReadError:
            flush()
            if not pull():
                return b"", "EOF in handshake"
    flush()
    data = first + body
    for i in range(0, len(data), 1 << 16):
        obj.write(data[i:i + (1 << 16)])
        flush()
    if fin:
        raw.shutdown(socket.SHUT_WR)
    else:
        try:
            obj.unwrap()  # close_notify; the peer's comes later
        except ssl.SSLWantReadError:
            pass
        flush()
    reply = b""
    err = None
    while True:
        try:
            d = obj.read(1 << 16)
            if not d:
                break
            reply += d
            continue
        except ssl.SSLWantReadError:
            pass
        except ssl.SSLZeroReturnError:
            break
        except ssl.SSLError as e:
            err = str(e)
            break
        if not pull():
            break
    raw.close()
    return reply, err


def front_io(master_pid):
    """rchar+wchar summed over master's tlsfront children (/proc/PID/io)."""
    total = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/stat" % pid) as f:
                st = f.read()
            if "(tlsfront)" not in st or int(st[st.rindex(")") + 2:].split()[1]) != master_pid:
                continue
            with open("/proc/%s/io" % pid) as f:
                for line in f:
                    if line.startswith(("rchar:", "wchar:")):
                        total += int(line.split()[1])
        except (OSError, ValueError):
            pass
    return total


def main():
    if os.geteuid() != 0:
        print("skip: tlsfront test needs root (our master runs as root)")
        return 0
    for b in ("master", "tlsfront", "tlsproxy", "tlsmgr", "postfix-tls"):
        if not os.access(os.path.join(BIN, b), os.X_OK):
            print("FAIL: %s not built" % b)
            return 1
    t = tempfile.mkdtemp(prefix="pftls-tlsfront.")
    os.chmod(t, 0o755)
    master = None
    try:
        return run(t)
    finally:
        p = getattr(main, "master", None)
        if p and p.poll() is None:
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(t, ignore_errors=True)


def run(t):
    etc, q, data, www = (os.path.join(t, d) for d in ("etc", "q", "data", "www"))
    for d in (etc, q, data, www):
        os.makedirs(d)
    shutil.chown(data, "pftls")
    body = os.urandom(300000)
    with open(os.path.join(www, "index.html"), "wb") as f:
        f.write(body)
    with open(os.path.join(www, "big.bin"), "wb") as f:
        blk = hashlib.sha256(b"seed").digest() * 2048
        h = hashlib.sha256()
        for i in range(BIG // len(blk)):
            chunk = blk[:-8] + struct.pack("!Q", i)
            f.write(chunk)
            h.update(chunk)
        big_sha = h.hexdigest()
    with open(os.path.join(etc, "main.cf"), "w") as f:
        # As scripts/demo-start.sh: postfix-tls enable-server sets the level.
        f.writelines(l for l in open(os.path.join(TOP, "etc", "main.cf"))
                     if not l.startswith("smtpd_tls_security_level"))
        f.write("queue_directory = %s\ndata_directory = %s\ndaemon_directory = %s\n" % (q, data, BIN))
        f.write("myhostname = localhost\ntlsproxy_tls_loglevel = 1\n")
        f.write("tlsfront_relay = inet:127.0.0.1:%d\n" % B_HTTP)
    r = subprocess.run([os.path.join(BIN, "postfix-tls"), "-c", etc, "enable-server", "localhost"],
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        print("FAIL: postfix-tls enable-server: " + r.stdout + r.stderr)
        return 1
    with open(os.path.join(etc, "master.cf"), "w") as f:
        f.write("tlsmgr unix - - y 1000? 1 tlsmgr\n")
        f.write("tlsproxy unix - - y - 0 tlsproxy -V\n")
        f.write("127.0.0.1:%d inet n - y - 1 tlsfront -V -o tlsfront_tls_alpn=h2,http/1.1\n" % P_HTTP)
        f.write("127.0.0.1:%d inet n - y - 1 tlsfront -V -o tlsfront_relay=inet:127.0.0.1:%d"
                " -o tlsfront_proxy_protocol=v2 -o tlsfront_tls_alpn=h2,http/1.1\n" % (P_V2, B_V2))
        f.write("127.0.0.1:%d inet n - y - 1 tlsfront -V -o tlsfront_relay=inet:127.0.0.1:%d"
                " -o tlsfront_proxy_protocol=v1\n" % (P_V1, B_V1))
        f.write("127.0.0.1:%d inet n - y - 1 tlsfront -V -o tlsfront_relay=inet:127.0.0.1:%d\n" % (P_BULK, B_BULK))
        f.write("127.0.0.1:%d inet n - y - 1 tlsfront -V -o tlsfront_relay=inet:127.0.0.1:%d\n" % (P_DEAD, B_DEAD))
        f.write("127.0.0.1:%d inet n - y - 1 tlsfront -V -o tlsfront_relay=inet:127.0.0.1:%d"
                " -o tlsfront_connection_limit=1\n" % (P_CAP, B_BULK))
        f.write("127.0.0.1:%d inet n - y - 1 tlsfront -V -o tlsfront_relay=inet:127.0.0.1:%d"
                " -o tlsfront_direct_relay=no\n" % (P_OLD, B_BULK))

    # Backends.
    handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=www, **k)
    http.server.SimpleHTTPRequestHandler.log_message = lambda *a: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", B_HTTP), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    serve(listener(B_V2), v2_handler)
    serve(listener(B_V1), v1_handler)
    serve(listener(B_BULK), bulk_handler)

    # A pipe, not a file: services without files to write run with
    # RLIMIT_FSIZE 0, so their stderr records would fail with EFBIG.
    main.master = subprocess.Popen([os.path.join(BIN, "master"), "-c", etc, "-d"], stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT)
    log_lines = []

    def drain():
        for line in main.master.stdout:
            log_lines.append(line.decode(errors="replace"))
    threading.Thread(target=drain, daemon=True).start()
    for port in (P_HTTP, P_V2, P_V1, P_BULK, P_DEAD, P_CAP, P_OLD):
        while time.monotonic() < DEADLINE:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
    def log_text():
        return "".join(log_lines)

    if os.environ.get("TLSFRONT_TEST_HOLD"):
        print("holding", t, flush=True)
        time.sleep(float(os.environ["TLSFRONT_TEST_HOLD"]))
    # 1. curl through tlsfront to http.server: body byte-exact.
    r = subprocess.run(["curl", "-sk", "--http1.1", "--max-time", "30",
                        "https://127.0.0.1:%d/index.html" % P_HTTP], capture_output=True, timeout=40)
    ok(r.returncode == 0 and r.stdout == body, "curl https through tlsfront: %d bytes byte-exact" % len(body),
       "rc=%d got %d bytes %s" % (r.returncode, len(r.stdout), r.stderr[-200:]))

    # 2. ALPN h2 with openssl s_client; no overlap still connects.
    r = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % P_HTTP, "-alpn", "h2"],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
    ok("ALPN protocol: h2" in r.stdout, "openssl s_client -alpn h2 sees 'ALPN protocol: h2'",
       r.stdout[-400:])
    r = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % P_HTTP, "-alpn", "imap"],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
    ok("No ALPN negotiated" in r.stdout and "Cipher is TLS_" in r.stdout,
       "no common ALPN protocol: handshake proceeds without ALPN", r.stdout[-400:])
    time.sleep(0.3)
    ok(re.search(r"tlsproxy.*ALPN protocol h2 for \[127\.0\.0\.1\]", log_text()),
       "tlsproxy logs the negotiated ALPN protocol", log_text()[-600:])
    ok(re.search(r"no ALPN protocol negotiated", log_text()), "tlsproxy logs a failed ALPN negotiation")

    # 3. 64 MiB download (curl -> http.server) and upload (python ssl -> hashing backend).
    t0 = time.monotonic()
    r = subprocess.run("curl -sk --http1.1 --max-time 60 https://127.0.0.1:%d/big.bin | sha256sum" % P_HTTP,
                       shell=True, capture_output=True, text=True, timeout=70)
    dt = time.monotonic() - t0
    ok(r.stdout.split()[:1] == [big_sha], "64 MiB download byte-exact (SHA-256) in %.1f s" % dt, r.stdout)
    up = os.urandom(1 << 20) * int(os.environ.get("TLSFRONT_UP_MIB", "64"))
    io0 = front_io(main.master.pid)
    t0 = time.monotonic()
    reply, err = half_close_exchange(P_BULK, b"PUT\n", up)
    dt = time.monotonic() - t0
    io1 = front_io(main.master.pid)
    want = ("%d %s\n" % (len(up), hashlib.sha256(up).hexdigest())).encode()
    ok(reply == want, "64 MiB upload byte-exact (SHA-256, reply after close_notify) in %.1f s" % dt,
       "%r err=%s" % (reply[:120], err))
    # Direct relay: tlsproxy relays TLS <-> backend, no byte crosses tlsfront.
    ok(io0 > 0 and io1 - io0 < 256 * 1024,
       "direct relay: tlsfront read+wrote %d bytes during the %d-byte upload" % (io1 - io0, len(up)))
    time.sleep(0.3)
    ok(re.search(r"tlsfront.*disconnect from \[127\.0\.0\.1\]:\d+ in=%d out=%d " % (len(up) + 4, len(want)),
                 log_text()), "direct relay: the disconnect line has tlsproxy's byte counts",
       log_text()[-400:])
    # tlsfront_direct_relay = no: the plaintext stream crosses tlsfront.
    up8 = up[:8 << 20]
    io0 = front_io(main.master.pid)
    reply, err = half_close_exchange(P_OLD, b"PUT\n", up8)
    io1 = front_io(main.master.pid)
    want8 = ("%d %s\n" % (len(up8), hashlib.sha256(up8).hexdigest())).encode()
    ok(reply == want8 and io1 - io0 > len(up8),  # rchar: read(); send() is not in wchar
       "tlsfront_direct_relay=no: 8 MiB upload byte-exact, relayed by tlsfront (%d bytes of I/O)" % (io1 - io0),
       "%r err=%s" % (reply[:120], err))
    reply, err = half_close_exchange(P_OLD, b"HALF\n", b"some request")
    ok(reply == b"after-eof:" + b"x" * 200000 + b":end\n", "tlsfront_direct_relay=no: half-close",
       "%r err=%s" % (reply[:80], err))

    # 4. Half-close: the reply is sent only after the backend reads EOF.
    reply, err = half_close_exchange(P_BULK, b"HALF\n", b"some request")
    ok(reply == b"after-eof:" + b"x" * 200000 + b":end\n",
       "half-close: client close_notify, full %d-byte reply after the backend's EOF" % len(reply),
       "%d bytes err=%s" % (len(reply), err))

    reply, err = half_close_exchange(P_BULK, b"HALF\n", b"some request", fin=True)
    ok(reply == b"after-eof:" + b"x" * 200000 + b":end\n",
       "half-close: client TCP FIN without close_notify, full reply after the backend's EOF",
       "%d bytes err=%s" % (len(reply), err))

    # 5. PROXY v2 and v1 headers.
    raw, s = tls_connect(P_V2, alpn=["h2"])
    cport = s.getsockname()[1]
    version, cipher = s.version(), s.cipher()[0]
    s.sendall(b"hello-v2")
    got = s.recv(4096)
    s.close()
    try:
        info, payload = eval(got.decode(), {})  # our own listener's repr
    except Exception as e:  # noqa: BLE001
        info, payload = {"error": str(e)}, b""
    ok(info.get("ver_cmd") == 0x21 and info.get("fam") == 0x11, "PROXY v2: version 2, PROXY, TCP4", info)
    ok(info.get("src") == "127.0.0.1" and info.get("sport") == cport,
       "PROXY v2: client address and port 127.0.0.1:%d" % cport, info)
    ok(info.get("dst") == "127.0.0.1" and info.get("dport") == P_V2, "PROXY v2: destination port", info)
    ok(info.get("ssl_client", 0) & 1 and info.get("ssl_21") == version and info.get("ssl_23") == cipher,
       "PROXY v2: PP2_TYPE_SSL with TLS version %s and cipher %s" % (version, cipher), info)
    ok(info.get("alpn") == "h2", "PROXY v2: PP2_TYPE_ALPN h2", info)
    ok(payload == b"hello-v2" and "error" not in info, "PROXY v2: client bytes follow the header", (info, payload))
    raw, s = tls_connect(P_V1)
    cport = s.getsockname()[1]
    s.sendall(b"hello-v1")
    got = s.recv(4096)
    s.close()
    try:
        line, payload = eval(got.decode(), {})
    except Exception as e:  # noqa: BLE001
        line, payload = str(e).encode(), b""
    want = ("PROXY TCP4 127.0.0.1 127.0.0.1 %d %d\r\n" % (cport, P_V1)).encode()
    ok(line == want and payload == b"hello-v1", "PROXY v1: %r" % want, (line, payload))

    # 5b. TLS 1.3: a resumed handshake issues a fresh ticket (each ticket is
    # used once), so every reconnection resumes.
    ctx13 = client_ctx()
    ctx13.minimum_version = ssl.TLSVersion.TLSv1_3
    sess, reused = None, []
    for i in range(4):
        with socket.create_connection(("127.0.0.1", P_HTTP), timeout=30) as raw13:
            with ctx13.wrap_socket(raw13, server_hostname="localhost", session=sess) as s13:
                s13.sendall(b"GET /index.html HTTP/1.0\r\n\r\n")
                while s13.recv(65536):
                    pass
                reused.append(s13.session_reused)
                sess = s13.session
    ok(reused == [False, True, True, True], "TLS 1.3: each resumed handshake brings a new ticket", reused)

    # 6. Backend down: the client is closed, one log line.
    raw, s = tls_connect(P_DEAD)
    try:
        got = s.recv(100)
    except (ssl.SSLError, OSError) as e:
        got = b"error " + str(e).encode()
    s.close()
    ok(got == b"", "backend down: client closed without data", got)
    time.sleep(0.3)
    ok(re.search(r"tlsfront.*connect to backend: Connection refused", log_text()),
       "backend down: logged", log_text()[-300:])

    # 7. Connection cap: a second client is closed at once, one log line.
    raw, held = tls_connect(P_CAP)
    held.sendall(b"HALF\n")
    time.sleep(0.3)
    try:
        raw2, s2 = tls_connect(P_CAP)
        s2.close()
        second = "handshake succeeded"
    except (ssl.SSLError, OSError) as e:
        second = str(e)
    held.close()
    ok(second != "handshake succeeded", "connection limit 1: second client closed", second)
    time.sleep(0.3)
    ok(log_text().count("reject: 127.0.0.1: too many connections") == 1,
       "connection limit: exactly one reject log line", log_text()[-300:])

    print("---- log excerpt")
    text = log_text()
    print("\n".join(l for l in text.splitlines() if "tlsfront" in l or "ALPN" in l)[-1500:])
    if os.environ.get("TLSFRONT_TEST_VERBOSE"):
        print(text[-5000:])
    print("tlsfront: %s" % ("ok" if fails == 0 else "%d FAILED" % fails))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
