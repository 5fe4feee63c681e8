#!/usr/bin/env python3
"""echoclient.py - test client for echosvc (t/tools/echosvc_main.cc).

  ask ADDR LINE                 one connection, one line; print the reply
  held ADDR LINE1 FLAGFILE LINE2
                                send LINE1, print reply, wait (<= 15 s) until
                                FLAGFILE exists, send LINE2 on the same
                                connection, print reply
  load ADDR CLIENTS LINES STAGGER
                                CLIENTS concurrent connections (started
                                STAGGER s apart), LINES lines each; print the
                                distinct pids that answered, one per line
  pend ADDR SECONDS             connect and hold the connection, silent

ADDR is HOST:PORT or unix:PATH. Every socket operation has a timeout.
"""
import os
import socket
import sys
import threading
import time

TIMEOUT = 10


def connect(addr):
    if addr.startswith("unix:"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(TIMEOUT)
        s.connect(addr[5:])
        return s
    host, port = addr.rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=TIMEOUT)


def roundtrip(s, line):
    s.sendall(line.encode() + b"\n")
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = s.recv(4096)
        if not chunk:
            raise RuntimeError("connection closed by server")
        buf += chunk
    return buf.decode().strip()


def main():
    cmd = sys.argv[1]
    addr = sys.argv[2]
    if cmd == "ask":
        with connect(addr) as s:
            print(roundtrip(s, sys.argv[3]))
    elif cmd == "held":
        with connect(addr) as s:
            print(roundtrip(s, sys.argv[3]), flush=True)
            deadline = time.time() + 15
            while not os.path.exists(sys.argv[4]):
                if time.time() > deadline:
                    raise RuntimeError("flag file never appeared")
                time.sleep(0.05)
            print(roundtrip(s, sys.argv[5]), flush=True)
    elif cmd == "load":
        clients, lines, stagger = int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
        pids, errors = set(), []
        lock = threading.Lock()

        def worker(n):
            try:
                with connect(addr) as s:
                    for i in range(lines):
                        pid = roundtrip(s, "c%d-%d" % (n, i)).split()[0]
                        with lock:
                            pids.add(pid)
            except Exception as e:  # noqa: BLE001 - report every failure
                with lock:
                    errors.append(str(e))

        threads = []
        for n in range(clients):
            t = threading.Thread(target=worker, args=(n,))
            t.start()
            threads.append(t)
            time.sleep(stagger)
        for t in threads:
            t.join(60)
        for p in sorted(pids):
            print(p)
        if errors:
            print("errors: " + "; ".join(errors), file=sys.stderr)
            sys.exit(1)
    elif cmd == "pend":
        with connect(addr):
            time.sleep(float(sys.argv[3]))
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
