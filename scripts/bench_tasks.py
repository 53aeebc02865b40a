"""TaskIQ in services mode: enqueue->start latency and throughput of real workers, as JSON.

    .venv/bin/python scripts/bench_tasks.py [--workers 1] [--tasks 2000] [--rate 0]
        [--max-async-tasks 20] [--warmup 100] [--redis-url redis://...]

Starts a private ``redis-server`` (no persistence) unless ``--redis-url`` is
given, and one ``storyhub worker --workers N`` (a supervisor and N worker
processes) on a throw-away data directory; then enqueues ``--tasks``
``storyhub.jobs.ping`` tasks through storyhub's own ``RedisStreamBroker``.
Each ping carries ``time.time()`` taken just before its ``kiq`` and answers
the worker's ``time.time()`` as it starts (same host, same clock):

* **latency** enqueue->start, p50/p95/p99/max, in milliseconds;
* **throughput**: tasks started per second, from the first enqueue to the
  last start;
* **enqueue rate**: ``kiq`` calls per second from this one process.

``--rate 0`` (default) enqueues everything at once (a backlog: latency then
includes the wait in the queue); ``--rate R`` enqueues R tasks per second,
which shows the pick-up latency of workers that keep up. Results are read
from the Redis result backend after the run, so reading them costs the
workers nothing while they work.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_support import load_average, start_private_redis

from storyhub.settings import load_settings

REPO = Path(__file__).resolve().parent.parent


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def start_workers(
    env: dict[str, str], workers: int, max_async: int, log: Path
) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "storyhub.cli",
                "worker",
                "--workers",
                str(workers),
                "--max-async-tasks",
                str(max_async),
            ],
            env=env,
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 120
    while log.read_bytes().count(b"Listening started") < workers:
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"workers did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.1)
    return process


async def run_pings(env: dict[str, str], count: int, rate: float) -> dict[str, Any]:
    from storyhub.jobs.tasks import ping
    from storyhub.lib.broker import build_broker

    broker = build_broker(load_settings(env))
    await broker.startup()
    try:
        kicker = ping.kicker().with_broker(broker)
        tasks = []
        first = time.time()
        began = time.perf_counter()
        for index in range(count):
            if rate > 0:
                wait = began + index / rate - time.perf_counter()
                if wait > 0:
                    await asyncio.sleep(wait)
            tasks.append(await kicker.kiq(time.time()))
        enqueue_seconds = time.perf_counter() - began
        answers = []
        for task in tasks:
            result = await task.wait_result(check_interval=0.05, timeout=600)
            if result.is_err:
                raise RuntimeError(f"ping failed: {result.error}")
            answers.append(result.return_value)
    finally:
        await broker.shutdown()
    latencies = [(a["startedAt"] - a["sentAt"]) * 1000 for a in answers]
    last_start = max(a["startedAt"] for a in answers)
    return {
        "tasks": count,
        "enqueueSeconds": round(enqueue_seconds, 3),
        "enqueuePerSecond": round(count / enqueue_seconds, 1),
        "throughputPerSecond": round(count / (last_start - first), 1),
        "latencyMs": {
            "p50": round(percentile(latencies, 0.50), 2),
            "p95": round(percentile(latencies, 0.95), 2),
            "p99": round(percentile(latencies, 0.99), 2),
            "max": round(max(latencies), 2),
            "mean": round(statistics.fmean(latencies), 2),
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=1, help="worker processes")
    parser.add_argument("--tasks", type=int, default=2000, help="pings in the measured run")
    parser.add_argument("--rate", type=float, default=0.0, help="pings per second; 0 = all at once")
    parser.add_argument("--max-async-tasks", type=int, default=20, help="per worker process")
    parser.add_argument("--warmup", type=int, default=100, help="pings before measuring")
    parser.add_argument("--redis-url", help="use this Redis instead of a private one")
    args = parser.parse_args()

    redis = None
    if args.redis_url:
        redis_url = args.redis_url
    else:
        redis_url, redis = start_private_redis(cpu=None)
    data_dir = Path(tempfile.mkdtemp(prefix="bench-tasks-"))
    env = {
        **os.environ,
        "STORYHUB_DATA_DIR": str(data_dir),
        "STORYHUB_VALKEY_URL": redis_url,
    }
    env.pop("PICCOLO_CONF", None)
    workers = start_workers(env, args.workers, args.max_async_tasks, data_dir / "worker.log")
    try:
        if args.warmup:
            asyncio.run(run_pings(env, args.warmup, 0))
        measured = asyncio.run(run_pings(env, args.tasks, args.rate))
    finally:
        workers.terminate()
        try:
            workers.wait(30)
        except subprocess.TimeoutExpired:
            workers.kill()
        if redis is not None:
            redis.terminate()
            redis.wait(5)
        shutil.rmtree(data_dir, ignore_errors=True)
    report = {
        "benchmark": "taskiq enqueue->start (storyhub.jobs.ping, services mode)",
        "workers": args.workers,
        "maxAsyncTasks": args.max_async_tasks,
        "rate": args.rate or "burst",
        **measured,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "loadAverage": load_average(),
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
