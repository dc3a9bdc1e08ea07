"""Benchmark: order reads end to end, caller -> gateway -> commercetools sandbox, all on 127.0.0.1.

    .venv/bin/python scripts/bench_read.py [--requests 4000] [--concurrency 16] [--workers 1]

Starts the commercetools sandbox (``scripts/bench_push.py --serve commercetools``, the server the
repository serves with) and ``ctnm serve --no-push`` on the embedded backend, then sends
``GET /v1/orders/{orderNumber}`` over the seeded orders in turn from ``--concurrency`` keep-alive
connections (the same minimal client as ``bench_push.py``, so the load generator is not what is
measured). Reports requests/s, p50/p99 latency and CPU milliseconds per request of each process role
(gateway, sandbox, this script). The machine is shared and noisy: compare runs of the same session only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import bench_push as bench

from app.access import mint_token


def order_numbers() -> list[str]:
    from app.sandbox.commercetools import SandboxConfig
    from app.sandbox.commercetools.seed import build_dataset

    config = SandboxConfig(project_key=bench.PROJECT_KEY)
    return [order["orderNumber"] for order in build_dataset(config.seed, config.project_key).orders.values()]


async def load(url: str, numbers: Sequence[str], requests: int, concurrency: int) -> tuple[float, list[float]]:
    token = mint_token(
        bench.JWT_SECRET,
        issuer="ctnm",
        audience="ct-novomind-gateway",
        subject="bench-read",
        scopes=["orders:read"],
        stores=["*"],
        ttl_seconds=3600,
    )
    headers = {"Authorization": f"Bearer {token}"}
    client = bench.RawHttp(url, concurrency)
    latencies: list[float] = []
    failures = 0
    turn = iter(range(requests))

    async def one_connection() -> None:
        nonlocal failures
        for index in turn:
            started = time.perf_counter()
            status, _ = await client.request("GET", f"/v1/orders/{numbers[index % len(numbers)]}", b"", headers)
            latencies.append(time.perf_counter() - started)
            failures += status != 200

    # Warm-up: every order read once (the gateway's token, connections, the sandbox's caches).
    for number in numbers:
        await client.request("GET", f"/v1/orders/{number}", b"", headers)
    started = time.perf_counter()
    await asyncio.gather(*(one_connection() for _ in range(concurrency)))
    seconds = time.perf_counter() - started
    await client.aclose()
    if failures:
        raise RuntimeError(f"{failures} reads did not answer 200")
    return requests / seconds, latencies


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=1, help="--workers of `ctnm serve`")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="bench-read-"))
    processes = bench.Processes(workdir)
    try:
        ct_port, gw_port = bench.free_port(), bench.free_port()
        ct_url, gw_url = f"http://{bench.HOST}:{ct_port}", f"http://{bench.HOST}:{gw_port}"
        processes.start(
            "read-commercetools",
            [
                sys.executable,
                str(bench.REPO / "scripts" / "bench_push.py"),
                "--serve",
                "commercetools",
                "--port",
                str(ct_port),
            ],
        )
        bench.wait_http(f"{ct_url}/__sandbox/faults", processes)
        settings = argparse.Namespace(batch_size=64, log_level="WARNING", novomind_connections=0)
        env = bench.gateway_env(ct_url=ct_url, nm_url=ct_url, data_dir=workdir, redis_url=None, args=settings)
        argv_serve = [*bench.ctnm(), "serve", "--no-push", "--host", bench.HOST, "--port", str(gw_port)]
        processes.start("read-gateway", [*argv_serve, "--workers", str(args.workers)], env=env)
        bench.wait_http(f"{gw_url}/healthz", processes)
        numbers = order_numbers()
        before = processes.cpu_seconds()
        rate, latencies = asyncio.run(load(gw_url, numbers, args.requests, args.concurrency))
        after = processes.cpu_seconds()
        cpu = bench.cpu_per_event(before, after, args.requests)
        p50, p99 = bench.percentile(latencies, 0.5), bench.percentile(latencies, 0.99)
        print(f"reads/s {rate:.0f}  p50 {bench.ms(p50)} ms  p99 {bench.ms(p99)} ms  cpu ms/read {cpu}")
        print(json.dumps({"bench": "read", "readsPerSecond": round(rate, 1), "cpuMsPerRead": cpu}))
    finally:
        processes.stop_all()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
