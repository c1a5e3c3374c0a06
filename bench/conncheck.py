#!/usr/bin/env python3
"""Check that a server answers EVERY one of many kept-alive connections.

wrk reports throughput, but not a connection that was never answered: a
server that holds one thread per kept-alive connection (Poco's HTTPServer)
leaves the connections beyond its pool waiting, and wrk prints no error for
them. This opens N keep-alive connections at once, keeps every one of them
busy (one request in flight per connection, for DURATION seconds), and reports
how many connections got at least one answer, how many got none, the fewest
answers a connection got, and non-2xx / errors.

Each connection keeps its own session: the first Set-Cookie JSESSIONID it
receives is sent on all its later requests.

  conncheck.py URL [--connections 1000] [--duration 5] [--timeout 10]

Prints one line "conncheck: key=value ..." and exits 0 if every connection was
answered with 2xx only and no errors, 1 otherwise.
"""
import argparse
import asyncio
import re
import sys
import time
from urllib.parse import urlsplit

COOKIE_RE = re.compile(rb"JSESSIONID=([^;,\s]+)", re.I)


async def one_connection(host, port, path, deadline, timeout, stats, idx):
    answered = 0
    cookie = None
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except Exception as e:  # noqa: BLE001 - any failure is a connect error
        stats["connect_errors"] += 1
        stats["last_error"] = f"connect: {e!r}"
        return 0
    try:
        while time.monotonic() < deadline:
            req = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            if cookie:
                req += f"Cookie: JSESSIONID={cookie}\r\n"
            req += "\r\n"
            writer.write(req.encode())
            await writer.drain()
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
            status = int(head.split(b" ", 2)[1])
            length = 0
            chunked = False
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value.strip())
                elif name == b"transfer-encoding" and b"chunked" in value.lower():
                    chunked = True
                elif name == b"set-cookie" and cookie is None:
                    m = COOKIE_RE.search(value)
                    if m:
                        cookie = m.group(1).decode()
            if chunked:
                while True:
                    size = int((await asyncio.wait_for(reader.readuntil(b"\r\n"), timeout)).split(b";")[0], 16)
                    await asyncio.wait_for(reader.readexactly(size + 2), timeout)
                    if size == 0:
                        break
            elif length:
                await asyncio.wait_for(reader.readexactly(length), timeout)
            answered += 1
            if not 200 <= status < 300:
                stats["non2xx"] += 1
    except asyncio.TimeoutError:
        stats["timeouts"] += 1
        stats["last_error"] = f"connection {idx}: no answer within {timeout}s"
    except Exception as e:  # noqa: BLE001
        stats["io_errors"] += 1
        stats["last_error"] = f"connection {idx}: {e!r}"
    finally:
        writer.close()
    return answered


async def main_async(args):
    u = urlsplit(args.url)
    host, port = u.hostname, u.port or 80
    path = u.path or "/"
    if u.query:
        path += "?" + u.query
    stats = {"connect_errors": 0, "io_errors": 0, "timeouts": 0, "non2xx": 0, "last_error": ""}
    start = time.monotonic()
    deadline = start + args.duration
    counts = await asyncio.gather(*[
        one_connection(host, port, path, deadline, args.timeout, stats, i)
        for i in range(args.connections)])
    elapsed = time.monotonic() - start
    served = sum(1 for c in counts if c > 0)
    total = sum(counts)
    ok = (served == args.connections and stats["non2xx"] == 0 and stats["connect_errors"] == 0
          and stats["io_errors"] == 0 and stats["timeouts"] == 0)
    print(f"conncheck: connections={args.connections} served={served} unanswered={args.connections - served} "
          f"min_per_conn={min(counts) if counts else 0} requests={total} seconds={elapsed:.1f} "
          f"non2xx={stats['non2xx']} connect_errors={stats['connect_errors']} io_errors={stats['io_errors']} "
          f"timeouts={stats['timeouts']} result={'PASS' if ok else 'FAIL'}")
    if stats["last_error"]:
        print(f"conncheck: last error: {stats['last_error']}", file=sys.stderr)
    return 0 if ok else 1


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("url")
    p.add_argument("--connections", type=int, default=1000)
    p.add_argument("--duration", type=float, default=5.0, help="seconds every connection keeps sending")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for one answer")
    args = p.parse_args()
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
