#!/usr/bin/env python3
"""smtp_sink.py - a small SMTP sink for tests and the demo.

    smtp_sink.py --listen 127.0.0.1:2525 --spool DIR [--no-xclient]

Accepts any mail and answers like an MTA: EHLO (PIPELINING, 8BITMIME, SIZE,
ENHANCEDSTATUSCODES and XCLIENT ADDR PORT NAME HELO unless --no-xclient),
HELO, XCLIENT (records the client's real address, then greets again),
MAIL, RCPT, DATA (dot-unstuffed), RSET, NOOP, QUIT. Each message is written
to DIR/NNNN.eml with DIR/NNNN.json holding the envelope, the peer address,
the XCLIENT address and the SHA-256 of the content. Prints "ready" once
listening. Loopback use only.
"""
import argparse
import asyncio
import hashlib
import json
import os
import sys

GREETING = b"220 sink.example ESMTP pftls-sink\r\n"


class Sink:
    def __init__(self, spool, xclient):
        self.spool = spool
        self.xclient = xclient
        self.count = 0

    async def session(self, reader, writer):
        peer = writer.get_extra_info("peername")
        state = {"xclient": None, "from": None, "to": [], "helo": None}
        writer.write(GREETING)
        try:
            while True:
                line = await asyncio.wait_for(reader.readline(), 300)
                if not line:
                    break
                cmd = line.decode(errors="replace").rstrip("\r\n")
                verb = cmd.split(" ", 1)[0].upper()
                arg = cmd[len(verb):].strip()
                if verb == "EHLO":
                    state["helo"] = arg
                    caps = ["sink.example", "PIPELINING", "SIZE 104857600", "8BITMIME", "ENHANCEDSTATUSCODES"]
                    if self.xclient:
                        caps.append("XCLIENT ADDR PORT NAME HELO")
                    writer.write("".join(f"250{'-' if i < len(caps) - 1 else ' '}{c}\r\n"
                                         for i, c in enumerate(caps)).encode())
                elif verb == "HELO":
                    state["helo"] = arg
                    writer.write(b"250 sink.example\r\n")
                elif verb == "XCLIENT" and self.xclient:
                    attrs = dict(kv.split("=", 1) for kv in arg.split() if "=" in kv)
                    state = {"xclient": attrs, "from": None, "to": [], "helo": None}
                    writer.write(GREETING)
                elif verb == "MAIL":
                    state["from"], state["to"] = arg, []
                    writer.write(b"250 2.1.0 Ok\r\n")
                elif verb == "RCPT":
                    state["to"].append(arg)
                    writer.write(b"250 2.1.5 Ok\r\n")
                elif verb == "DATA":
                    if not state["from"] or not state["to"]:
                        writer.write(b"503 5.5.1 Error: need RCPT command\r\n")
                        continue
                    writer.write(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    await writer.drain()
                    body = bytearray()
                    # One deadline for the whole content (a wait_for() per
                    # line made the sink, not the relay, the bottleneck).
                    async with asyncio.timeout(300):
                        while True:
                            l = await reader.readline()
                            if not l:
                                return
                            if l in (b".\r\n", b".\n"):
                                break
                            body += l[1:] if l.startswith(b".") else l
                    self.save(peer, state, bytes(body))
                    state["from"], state["to"] = None, []
                    writer.write(b"250 2.0.0 Ok: queued\r\n")
                elif verb in ("RSET", "NOOP"):
                    if verb == "RSET":
                        state["from"], state["to"] = None, []
                    writer.write(b"250 2.0.0 Ok\r\n")
                elif verb == "QUIT":
                    writer.write(b"221 2.0.0 Bye\r\n")
                    await writer.drain()
                    break
                else:
                    writer.write(b"502 5.5.2 Error: command not recognized\r\n")
                await writer.drain()
        except (asyncio.TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()

    def save(self, peer, state, body):
        self.count += 1
        base = os.path.join(self.spool, f"{self.count:04d}")
        with open(base + ".eml", "wb") as f:
            f.write(body)
        meta = {"peer": f"{peer[0]}:{peer[1]}", "xclient": state["xclient"], "helo": state["helo"],
                "from": state["from"], "to": state["to"], "size": len(body),
                "sha256": hashlib.sha256(body).hexdigest()}
        with open(base + ".json.tmp", "w") as f:
            json.dump(meta, f)
        os.rename(base + ".json.tmp", base + ".json")


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", required=True)
    ap.add_argument("--spool", required=True)
    ap.add_argument("--no-xclient", action="store_true")
    a = ap.parse_args()
    host, port = a.listen.rsplit(":", 1)
    os.makedirs(a.spool, exist_ok=True)
    sink = Sink(a.spool, not a.no_xclient)
    server = await asyncio.start_server(sink.session, host, int(port))
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
