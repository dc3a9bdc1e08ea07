"""Benchmark: what one small HTTP write costs the client, per transport, in the same run.

    .venv/bin/python scripts/bench_http_client.py [--requests 6000] [--concurrency 8] [--rounds 3]

A loopback server in a subprocess (asyncio on uvloop, a fixed 11-byte JSON answer: as cheap as a
server gets, so the client's cost is what shows) takes ``PUT`` requests with a 200-byte JSON body, as
the pusher's novomind writes. Each round measures, one after the other on uvloop, with ``--concurrency``
requests in flight: the gateway's own ``KeepAliveTransport.send_direct`` (the pusher's hot path),
httpx's ``AsyncClient`` on its default transport (httpcore), on ``httpx-aiohttp``'s transport and on
ours, and plain ``aiohttp`` (the last two only when installed: they are measured, not dependencies).
Reported: requests/s and CPU microseconds per request of this process, medians over the rounds, and
each as a ratio to ``send_direct``. The machine is shared and noisy: only same-run ratios mean much.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from app.http_pool import Endpoint, KeepAliveTransport

ANSWER = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"ok":true}'
BODY = json.dumps({"storage": {"state": "Shipped", "note": "x" * 150}}).encode()
HEADERS = {"Content-Type": "application/json", "Idempotency-Key": "k-0123456789", "Accept": "application/json"}
PATH = "/iMail/api/rest/tickets/800001/storage"


def serve(port: int) -> None:
    import uvloop

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                await reader.readexactly(length)
                writer.write(ANSWER)
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=256)
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        async with server:
            await stop.wait()

    uvloop.run(main())


async def timed(send: Callable[[], Awaitable[Any]], requests: int, concurrency: int) -> tuple[float, float]:
    for _ in range(concurrency * 4):  # warm-up: connections open, caches filled
        await send()
    remaining = iter(range(requests))

    async def lane() -> None:
        for _ in remaining:
            await send()

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(concurrency)))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return requests / wall, cpu * 1e6 / requests


async def measure(url: str, requests: int, concurrency: int) -> dict[str, tuple[float, float]]:
    results: dict[str, tuple[float, float]] = {}
    own = KeepAliveTransport(max_idle=concurrency)
    endpoint = Endpoint.parse(url)
    target = endpoint.target(PATH)
    assert target is not None
    timeouts = dict.fromkeys(("connect", "read", "write", "pool"), 5.0)

    async def direct() -> None:
        answer = await own.send_direct("PUT", endpoint, target, HEADERS, BODY, timeouts)
        assert answer.status_code == 200

    results["send_direct (ours)"] = await timed(direct, requests, concurrency)
    await own.aclose()

    clients: dict[str, httpx.AsyncClient] = {
        "httpx, default transport": httpx.AsyncClient(base_url=url, limits=httpx.Limits(max_connections=concurrency)),
        "httpx on KeepAliveTransport": httpx.AsyncClient(
            base_url=url, transport=KeepAliveTransport(max_idle=concurrency)
        ),
    }
    if importlib.util.find_spec("httpx_aiohttp"):
        from httpx_aiohttp import AiohttpTransport

        clients["httpx on httpx-aiohttp"] = httpx.AsyncClient(base_url=url, transport=AiohttpTransport())
    for name, client in clients.items():

        async def through_httpx(client: httpx.AsyncClient = client) -> None:
            response = await client.put(PATH, content=BODY, headers=HEADERS)
            assert response.status_code == 200

        results[name] = await timed(through_httpx, requests, concurrency)
        await client.aclose()

    if importlib.util.find_spec("aiohttp"):
        import aiohttp

        async with aiohttp.ClientSession(url, connector=aiohttp.TCPConnector(limit=concurrency)) as session:

            async def plain_aiohttp() -> None:
                async with session.put(PATH, data=BODY, headers=HEADERS) as response:
                    await response.read()
                    assert response.status == 200

            results["aiohttp (plain)"] = await timed(plain_aiohttp, requests, concurrency)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=6000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return 0
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(port)])  # noqa: S603 - this script
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        import uvloop

        rounds = [
            uvloop.run(measure(f"http://127.0.0.1:{port}", args.requests, args.concurrency)) for _ in range(args.rounds)
        ]
    finally:
        os.kill(server.pid, signal.SIGTERM)
        server.wait(timeout=10)
    names = list(rounds[0])
    median = {name: tuple(statistics.median(r[name][i] for r in rounds) for i in (0, 1)) for name in names}
    rate0, cpu0 = median["send_direct (ours)"]
    print(f"{'client':32} {'req/s':>8} {'CPU µs/req':>11} {'req/s ÷ ours':>13} {'CPU ÷ ours':>11}")
    for name, (rate, cpu) in median.items():
        print(f"{name:32} {rate:8.0f} {cpu:11.0f} {rate / rate0:13.2f} {cpu / cpu0:11.2f}")
    print(
        json.dumps(
            {
                "bench": "http_client",
                "median": {n: {"rps": round(r), "cpuUs": round(c)} for n, (r, c) in median.items()},
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
