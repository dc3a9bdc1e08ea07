"""Speed suite of the read path (``make bench``): every figure against a baseline of the same run.

    .venv/bin/python scripts/bench_reads.py [--workers 1] [--seconds 10] [--connections 32]
        [--stampede 200] [--outage-seconds 30] [--views 100000] [--json FILE] [--smoke]

Started on 127.0.0.1 (all stopped on exit): a throwaway ``redis-server`` when installed (else the
embedded backend and an L1-only cache), two commercetools sandboxes (one answering at once, one
50 ms late), and per sandbox a gateway with ``ctnm serve --workers N`` (so whichever HTTP server
``serve`` runs is measured). Each gateway mounts the bench-only baseline ``GET /bench/static``
(``GATEWAY_BENCH_STATIC_BYTES``: a fixed JSON body as large as the order view; off in production).

1. **hit**: ``GET /v1/orders/{n}`` (token check, store check, masking; a cached view) ÷ the static
   body, same server, same workers; wrk, 1 thread, ``--connections``; alternated, two rounds each.
   Targets: ratio ≥ 0.6 (goal 0.8), p99 ≤ 5 ms at 32 connections.
2. **cold**: sequential reads forced past the cache (``Cache-Control: no-cache``) with the sandbox
   50 ms late, against the same reads sent to the sandbox directly: p50 ≤ upstream + 5 ms, and one
   upstream call per view (counted by the sandbox).
3. **stampede**: ``--stampede`` concurrent first reads of one order → upstream calls (target 1).
4. **outage**: reads under load while commercetools answers 503 for ``--outage-seconds`` (views
   older than 2 s are refreshed in this run's mappings): share served stale, errors, and the time
   from the end of the outage to the first fresh answer.
5. **memory**: RSS of a process holding ``--views`` cached order views (with their pre-encoded
   masked bodies), against the bytes of those bodies.

The load generator is ``wrk`` (Debian package; installed with apt-get when missing and running as
root). Without it the hit figures come from a small asyncio client and say so: comparable within
the run only. ``--smoke`` runs everything with tiny numbers (the test suite does).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_push import HOST, Processes, ctnm, free_port, log, start_redis, wait_http

REPO = Path(__file__).resolve().parents[1]
PROJECT_KEY = "bench-reads"
JWT_SECRET = "bench-reads-jwt-secret-0123456789abcdef"  # noqa: S105 - a throwaway gateway's
CACHE_KEY = "bench-reads-cache-key-0123456789abcdef"


# -- the commercetools sandbox, when this script runs as one (--serve-ct) --------------------------------


def serve_ct(port: int, latency_ms: int) -> None:
    import uvicorn

    from app.sandbox.commercetools import SandboxConfig, create_commercetools_sandbox

    app = create_commercetools_sandbox(SandboxConfig(project_key=PROJECT_KEY, latency_ms=latency_ms))
    uvicorn.run(app, host=HOST, port=port, log_level="warning", access_log=False)


# -- helpers ---------------------------------------------------------------------------------------------


def order_numbers() -> list[str]:
    from app.sandbox.commercetools import SandboxConfig
    from app.sandbox.commercetools.seed import build_dataset

    config = SandboxConfig(project_key=PROJECT_KEY)
    dataset = build_dataset(config.seed, config.project_key)
    return sorted(o["orderNumber"] for o in dataset.orders.values() if o.get("orderNumber"))


def caller_token(subject: str = "bench-agent") -> str:
    from app.access import mint_token

    return mint_token(
        JWT_SECRET,
        issuer="ctnm",
        audience="ct-novomind-gateway",
        subject=subject,
        scopes=["orders:read", "customers:read"],
        stores=["*"],
        ttl_seconds=3600,
    )


def mappings_for_bench(directory: Path) -> Path:
    """The repository's mappings, with views refreshed after 2 s (so the outage phase asks upstream)."""
    target = directory / "mappings"
    shutil.copytree(REPO / "mappings", target)
    (target / "cache.toml").write_text(
        "[default]\nttl-seconds = 2\nmax-stale-seconds = 600\nrefresh-wait-seconds = 0.5\n", encoding="utf-8"
    )
    return target


def gateway_env(ct_url: str, *, redis_url: str | None, data_dir: Path, mappings: Path, static: int) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "CTP_PROJECT_KEY": PROJECT_KEY,
        "CTP_CLIENT_ID": "sandbox-client",
        "CTP_CLIENT_SECRET": "sandbox-secret",
        "CTP_AUTH_URL": ct_url,
        "CTP_API_URL": ct_url,
        "CTP_MAX_ATTEMPTS": "2",
        "CTP_DEADLINE_SECONDS": "2",
        "GATEWAY_JWT_SECRET": JWT_SECRET,
        "GATEWAY_DATA_DIR": str(data_dir),
        "GATEWAY_MAPPINGS_DIR": str(mappings),
        "GATEWAY_RATE_LIMITS": "false",  # the benchmark measures the gateway, not its limits
        "GATEWAY_LOG_LEVEL": "WARNING",
        "GATEWAY_CACHE_NAMESPACE": f"bench-{uuid.uuid4().hex[:8]}",
        "GATEWAY_CACHE_FORCED_REFRESHES_PER_MINUTE": "600",
        "GATEWAY_CACHE_L1_ENTRIES": "200000",
        "GATEWAY_BENCH_STATIC_BYTES": str(static),
    }
    if redis_url:
        env["REDIS_URL"] = redis_url
        env["GATEWAY_CACHE_KEY"] = CACHE_KEY
    return env


def wrk_path() -> str | None:
    found = shutil.which("wrk")
    if found or os.geteuid() != 0 or shutil.which("apt-get") is None:
        return found
    log("wrk is missing: installing the Debian package (apt-get install -y wrk)")
    installed = subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], capture_output=True, check=False)  # noqa: S607
    return shutil.which("wrk") if installed.returncode == 0 else None


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def run_wrk(wrk: str, url: str, *, seconds: float, connections: int, headers: dict[str, str]) -> dict[str, float]:
    argv = [wrk, "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency"]
    for name, value in headers.items():
        argv += ["-H", f"{name}: {value}"]
    output = subprocess.run([*argv, url], capture_output=True, text=True, check=True).stdout  # noqa: S603
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output)[1])  # type: ignore[index]
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", output)
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    return {
        "rps": rps,
        "p99_ms": float(p99[1]) * _UNITS[p99[2]] if p99 else float("nan"),
        "non_2xx": float(errors[1]) if errors else 0.0,
    }


async def python_load(url: str, *, seconds: float, connections: int, headers: dict[str, str]) -> dict[str, float]:
    """The fallback load generator: closed loop, ``connections`` keep-alive connections."""
    latencies: list[float] = []
    failures = 0
    end = time.perf_counter() + seconds
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=connections), headers=headers) as client:

        async def one() -> None:
            nonlocal failures
            while time.perf_counter() < end:
                started = time.perf_counter()
                response = await client.get(url)
                latencies.append((time.perf_counter() - started) * 1000)
                failures += response.status_code != 200

        began = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(connections)))
        elapsed = time.perf_counter() - began
    latencies.sort()
    return {
        "rps": len(latencies) / elapsed,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] if latencies else float("nan"),
        "non_2xx": float(failures),
    }


def ct_requests(ct_url: str) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = httpx.get(f"{ct_url}/__sandbox/requests", timeout=30).json()
    return result


def order_reads(requests: list[dict[str, Any]], number: str | None = None) -> int:
    return sum(1 for r in requests if "/orders" in r["path"] and (number is None or number in json.dumps(r)))


# -- the phases ------------------------------------------------------------------------------------------


def phase_hit(args: argparse.Namespace, gateway: str, number: str, wrk: str | None) -> dict[str, Any]:
    auth = {"Authorization": f"Bearer {caller_token()}"}
    assert httpx.get(f"{gateway}/v1/orders/{number}", headers=auth).status_code == 200  # warm the cache
    rounds: dict[str, list[dict[str, float]]] = {"static": [], "hit": []}
    for _ in range(2):
        for name, path, headers in (("static", "/bench/static", {}), ("hit", f"/v1/orders/{number}", auth)):
            url = gateway + path
            if wrk:
                figures = run_wrk(wrk, url, seconds=args.seconds, connections=args.connections, headers=headers)
            else:
                figures = asyncio.run(
                    python_load(url, seconds=args.seconds, connections=args.connections, headers=headers)
                )
            rounds[name].append(figures)
            log(f"hit phase, {name}: {figures['rps']:.0f}/s, p99 {figures['p99_ms']:.2f} ms")
    static_rps = statistics.median(r["rps"] for r in rounds["static"])
    hit_rps = statistics.median(r["rps"] for r in rounds["hit"])
    return {
        "load_generator": "wrk" if wrk else "python (wrk not available: comparable within this run only)",
        "static_rps": round(static_rps),
        "hit_rps": round(hit_rps),
        "ratio": round(hit_rps / static_rps, 3),
        "hit_p99_ms": round(max(r["p99_ms"] for r in rounds["hit"]), 2),
        "static_p99_ms": round(max(r["p99_ms"] for r in rounds["static"]), 2),
        "non_2xx": sum(r["non_2xx"] for r in rounds["hit"]),
    }


def phase_stampede(args: argparse.Namespace, gateway: str, ct_url: str, number: str) -> dict[str, Any]:
    before = order_reads(ct_requests(ct_url), number)

    async def burst() -> list[int]:
        headers = {"Authorization": f"Bearer {caller_token()}"}
        limits = httpx.Limits(max_connections=args.stampede)
        async with httpx.AsyncClient(limits=limits, headers=headers, timeout=30) as client:
            answers = await asyncio.gather(*(client.get(f"{gateway}/v1/orders/{number}") for _ in range(args.stampede)))
        return [a.status_code for a in answers]

    statuses = asyncio.run(burst())
    upstream = order_reads(ct_requests(ct_url), number) - before
    log(f"stampede: {args.stampede} concurrent first reads -> {upstream} upstream read(s)")
    return {"reads": args.stampede, "ok": statuses.count(200), "upstream_reads": upstream}


def phase_cold(args: argparse.Namespace, gateway: str, ct_url: str, numbers: list[str]) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {caller_token('cold-reader')}", "Cache-Control": "no-cache"}
    direct = []
    through = []
    with httpx.Client(timeout=30) as client:
        token = client.post(
            f"{ct_url}/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=("sandbox-client", "sandbox-secret"),
        ).json()["access_token"]
        upstream_headers = {"Authorization": f"Bearer {token}"}
        seen = len(ct_requests(ct_url))
        for i in range(args.cold_reads):
            number = numbers[i % len(numbers)]
            started = time.perf_counter()
            assert client.get(f"{gateway}/v1/orders/{number}", headers=headers).status_code == 200
            through.append((time.perf_counter() - started) * 1000)
        asked = [r for r in ct_requests(ct_url)[seen:] if r["path"] != "/oauth/token"]
        views = order_reads(asked)
        # The baseline: exactly what the gateway asked (same paths, same expansions), sent directly.
        for request in asked:
            started = time.perf_counter()
            client.get(f"{ct_url}{request['path']}", params=request["query"], headers=upstream_headers)
            direct.append((time.perf_counter() - started) * 1000)
    p50, upstream_p50 = statistics.median(through), statistics.median(direct)
    log(f"cold: p50 {p50:.1f} ms against upstream {upstream_p50:.1f} ms")
    return {
        "reads": args.cold_reads,
        "p50_ms": round(p50, 1),
        "upstream_p50_ms": round(upstream_p50, 1),
        "overhead_ms": round(p50 - upstream_p50, 1),
        "upstream_calls_per_view": round(views / args.cold_reads, 2),
    }


def phase_outage(args: argparse.Namespace, gateway: str, ct_url: str, numbers: list[str]) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {caller_token('outage-reader')}"}

    async def run() -> dict[str, Any]:
        counts = {"fresh": 0, "stale": 0, "errors": 0}
        recovered_at: float | None = None
        cleared_at: float | None = None
        recovered = asyncio.Event()
        stop = asyncio.Event()
        async with httpx.AsyncClient(headers=headers, timeout=10) as client:
            for number in numbers:  # warm every view first
                await client.get(f"{gateway}/v1/orders/{number}")

            async def reader(offset: int) -> None:
                nonlocal recovered_at
                i = offset
                while not stop.is_set():
                    response = await client.get(f"{gateway}/v1/orders/{numbers[i % len(numbers)]}")
                    i += 1
                    if response.status_code != 200:
                        counts["errors"] += 1
                    elif response.json()["stale"]:
                        counts["stale"] += 1
                    else:
                        counts["fresh"] += 1
                        if cleared_at is not None and recovered_at is None:
                            recovered_at = time.perf_counter()
                            recovered.set()

            readers = [asyncio.create_task(reader(i)) for i in range(8)]
            await asyncio.sleep(2.5)  # every view is now past its 2 s ttl
            fault = {"pathContains": "/orders", "status": 503, "times": 10_000_000}
            await client.post(f"{ct_url}/__sandbox/faults", json=fault)
            during = dict(counts)
            await asyncio.sleep(args.outage_seconds)
            await client.delete(f"{ct_url}/__sandbox/faults")
            cleared_at = time.perf_counter()
            outage = {k: counts[k] - during[k] for k in counts}
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(recovered.wait(), 30)
            stop.set()
            await asyncio.gather(*readers)
        total = max(sum(outage.values()), 1)
        return {
            "seconds": args.outage_seconds,
            "answers": total,
            "stale_share": round(outage["stale"] / total, 3),
            "fresh_share": round(outage["fresh"] / total, 3),
            "errors": outage["errors"],
            "recovery_ms": round((recovered_at - cleared_at) * 1000, 1) if recovered_at and cleared_at else None,
        }

    result = asyncio.run(run())
    log(f"outage: {result}")
    return result


def phase_memory(args: argparse.Namespace, body: bytes) -> dict[str, Any]:
    """A fresh interpreter fills an L1 with ``--views`` copies of a real view (``--memory-probe``)."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as sample:
        sample.write(body)
    probe = subprocess.run(  # noqa: S603
        [sys.executable, __file__, "--memory-probe", sample.name, "--views", str(args.views)],
        capture_output=True,
        text=True,
        check=True,
    )
    os.unlink(sample.name)
    result: dict[str, Any] = json.loads(probe.stdout)
    log(f"memory: {result}")
    return result


def memory_probe(sample: Path, views: int) -> None:
    import gc

    from app.cache import Fill, Sealer, ViewCache
    from app.lookup.answers import encode_answer
    from app.mapping.schema import CacheFile
    from app.views import OrderView

    body = sample.read_bytes()

    def rss() -> int:
        status = Path("/proc/self/status").read_text()
        return int(re.search(r"VmRSS:\s+(\d+) kB", status)[1]) * 1024  # type: ignore[index]

    async def fill() -> int:
        cache = ViewCache(CacheFile(), sealer=Sealer.ephemeral(), max_entries=views, max_bytes=64 * 1024**3)
        gc.collect()
        before = rss()
        for i in range(views):
            # Distinct bytes per view, as real views are (an order number differs in each).
            view = body.replace(b'"id":"', f'"id":"{i:08d}'.encode(), 1)
            name = cache.name("order-number", str(i))

            async def load(view: bytes = view, tag: str = cache.name("order", str(i))) -> Fill:
                return Fill(view, "de-store", (tag,))

            served = await cache.read(name, "*", load)
            assert served is not None
            # What a masked hit keeps beside the entry (app/lookup/service.py): the links' stores and the body.
            decoded = msgspec.json.decode(view, type=OrderView)
            served.slot.memo("link-stores", lambda decoded=decoded: tuple(link.store for link in decoded.links))
            served.slot.memo(("masked", "order"), lambda decoded=decoded: encode_answer(decoded))
        gc.collect()
        assert len(cache) == views
        return rss() - before

    grown = asyncio.run(fill())
    print(
        json.dumps(
            {
                "views": views,
                "view_bytes": len(body),
                "rss_growth_mb": round(grown / 1024**2, 1),
                "bytes_per_view": round(grown / views),
                "overhead_per_view_bytes": round(grown / views - 2 * len(body)),
                "ratio_to_payload": round(grown / (2 * len(body) * views), 2),
            }
        )
    )


# -- main ------------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--stampede", type=int, default=200)
    parser.add_argument("--cold-reads", type=int, default=60)
    parser.add_argument("--outage-seconds", type=float, default=30)
    parser.add_argument("--views", type=int, default=100_000)
    parser.add_argument("--json", type=Path, default=None, help="also write the report here")
    parser.add_argument("--smoke", action="store_true", help="tiny numbers: checks the suite runs, measures nothing")
    parser.add_argument("--no-wrk", action="store_true", help="use the built-in load generator")
    parser.add_argument("--serve-ct", nargs=2, type=int, metavar=("PORT", "LATENCY_MS"), help=argparse.SUPPRESS)
    parser.add_argument("--memory-probe", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_ct:
        serve_ct(*args.serve_ct)
        return 0
    if args.memory_probe:
        memory_probe(args.memory_probe, args.views)
        return 0
    if args.smoke:
        args.seconds, args.stampede, args.cold_reads, args.outage_seconds, args.views = 1, 20, 4, 1, 500

    wrk = None if args.no_wrk else wrk_path()
    if wrk is None:
        log("wrk not found (apt-get install wrk, as root): the built-in Python load generator is used instead")
    scratch = Path(tempfile.mkdtemp(prefix="bench-reads-"))
    processes = Processes(scratch)
    report: dict[str, Any] = {"workers": args.workers, "connections": args.connections}
    try:
        redis_url = start_redis(processes) if shutil.which("redis-server") else None
        report["cache_tiers"] = "L1 + Redis L2" if redis_url else "L1 only (no redis-server installed)"
        mappings = mappings_for_bench(scratch)
        numbers = order_numbers()
        ct = {}
        for name, latency in (("fast", 0), ("slow", 50)):
            port = free_port()
            processes.start(f"ct-{name}", [sys.executable, __file__, "--serve-ct", str(port), str(latency)])
            ct[name] = f"http://{HOST}:{port}"
            wait_http(f"{ct[name]}/__sandbox/faults", processes)

        def start_gateway(name: str, ct_url: str, static: int) -> str:
            port = free_port()
            data = scratch / f"data-{name}"
            data.mkdir(exist_ok=True)
            env = gateway_env(ct_url, redis_url=redis_url, data_dir=data, mappings=mappings, static=static)
            argv = [*ctnm(), "serve", "--host", HOST, "--port", str(port), "--workers", str(args.workers), "--no-push"]
            processes.start(f"gateway-{name}", argv, env)
            url = f"http://{HOST}:{port}"
            wait_http(f"{url}/healthz", processes)
            return url

        # The hit's body size decides the baseline's: measure it once, then start the real pair.
        probe = start_gateway("probe", ct["fast"], 0)
        body = httpx.get(f"{probe}/v1/orders/{numbers[0]}", headers={"Authorization": f"Bearer {caller_token()}"})
        processes.stop("gateway-probe")
        report["view_bytes"] = len(body.content)
        fast = start_gateway("fast", ct["fast"], len(body.content))
        slow = start_gateway("slow", ct["slow"], len(body.content))

        report["hit"] = phase_hit(args, fast, numbers[0], wrk)
        report["stampede"] = phase_stampede(args, slow, ct["slow"], numbers[1])
        report["cold"] = phase_cold(args, slow, ct["slow"], numbers)
        report["outage"] = phase_outage(args, fast, ct["fast"], numbers)
        report["memory"] = phase_memory(args, body.content)
    finally:
        processes.stop_all()
        shutil.rmtree(scratch, ignore_errors=True)
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
