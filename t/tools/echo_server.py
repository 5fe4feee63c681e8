#!/usr/bin/env python3
"""echo_server.py - a loopback TCP echo backend for the tests.

usage: echo_server.py --listen 127.0.0.1:PORT

Every byte a client sends comes back on the same connection; the client's
EOF ends the connection after what it sent was echoed. asyncio, one
process, no limit on connections (the fault suite's tlsfront backend)."""
import argparse
import asyncio


async def echo(reader, writer):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
        await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", required=True)
    a = ap.parse_args()
    host, port = a.listen.rsplit(":", 1)
    server = await asyncio.start_server(echo, host, int(port), backlog=1024)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
