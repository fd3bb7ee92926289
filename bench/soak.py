"""A soak test: `rag serve` under mixed traffic for a while, with its memory watched.

`run_soak` copies the index to a temporary folder (the original is never written), starts
`rag serve` on a free 127.0.0.1 port, and lets `clients` concurrent async clients send asks,
searches, uploads of small generated documents and deletes of those until the time is up. It
samples the server's resident memory every few seconds and returns request counts, errors,
latency percentiles and memory growth. `rag bench --soak MINUTES` calls it.

An error is a failed request (transport error or an unexpected status) or a wrong answer to the
one question whose answer is fixed (the capacity loans → "$15 billion").
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
import psutil

from index.errors import IndexMissingError
from index.paths import with_checkout_on_path

FUND_QUESTION = "How much did China earmark in loans for capacity cooperation?"
FUND_ANSWER = "$15 billion"
QUESTIONS = (
    FUND_QUESTION,
    "What was the trade turnover between Kazakhstan and China?",
    "How many joint projects are in the capacity cooperation list?",
    "How many cabins does the soak ropeway have?",
)
QUERIES = ("capacity cooperation fund", "trade turnover", "industrial projects list", "soak ropeway cabins")
WEIGHTS = {"ask": 0.45, "search": 0.35, "upload": 0.1, "delete": 0.1}
EXPECTED_STATUS = {"ask": {200}, "search": {200}, "upload": {200, 201}, "delete": {200}}
START_TIMEOUT_S = 180.0
REQUEST_TIMEOUT_S = 60.0
RSS_EVERY_S = 3.0
WARMUP_S = 30.0
MAX_ERROR_SAMPLES = 5


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def rag_command() -> list[str]:
    """The `rag` console script of this interpreter, or `python -m cli.main` without it."""
    script = Path(sys.executable).parent / "rag"
    return [str(script)] if script.exists() else [sys.executable, "-m", "cli.main"]


def server_env(index_dir: Path, **settings: str) -> dict[str, str]:
    """The environment for a server over index_dir: no inherited RAG_* settings, offline model."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(
        RAG_INDEX_DIR=str(index_dir),
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
        PYTHONUNBUFFERED="1",  # log lines reach the log file as they are written
    )
    # a source checkout first, so the `rag` script imports these packages; an installed copy adds nothing
    pythonpath = with_checkout_on_path(os.environ.get("PYTHONPATH"))
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    env.update({f"RAG_{name.upper()}": value for name, value in settings.items()})
    return env


def start_server(
    index_dir: Path, port: int, log_path: Path, log_level: str = "warning", **settings: str
) -> subprocess.Popen:
    """Start `rag serve` over index_dir on 127.0.0.1:port, its output going to log_path."""
    command = [*rag_command(), "serve", "--host", "127.0.0.1", "--port", str(port), "--log-level", log_level]
    with log_path.open("w") as log:  # a file, not a pipe: a full pipe would block the server
        return subprocess.Popen(
            command,
            cwd=log_path.parent,
            env=server_env(index_dir, **settings),
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def wait_until_healthy(
    process: subprocess.Popen, base_url: str, log_path: Path, timeout_s: float = START_TIMEOUT_S
) -> dict:
    """Poll /health until the index is loaded; RuntimeError with the server's log otherwise."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"rag serve exited with status {process.returncode}:\n{log_path.read_text()}")
        try:
            health = httpx.get(f"{base_url}/health", timeout=5.0).json()
        except httpx.TransportError:
            time.sleep(0.25)
            continue
        if not health.get("index_loaded"):
            raise RuntimeError(f"rag serve started without an index: {health.get('message')}")
        return health
    raise RuntimeError(f"rag serve did not answer /health within {timeout_s:.0f} s:\n{log_path.read_text()}")


def stop_server(process: subprocess.Popen, timeout_s: float = 20.0) -> None:
    """SIGTERM (uvicorn's graceful stop), then SIGKILL if it lingers."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@dataclass
class _Tally:
    latencies_ms: dict[str, list[float]] = field(default_factory=lambda: {kind: [] for kind in WEIGHTS})
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)

    def error(self, message: str) -> None:
        self.errors += 1
        if len(self.error_samples) < MAX_ERROR_SAMPLES:
            self.error_samples.append(message)


def make_document(doc_id: str, rng: random.Random) -> dict:
    """A small article about a ropeway, with numbers for the answerer to find."""
    cabins, cost, riders = rng.randint(10, 90), rng.randint(5, 200), rng.randint(1000, 50000)
    text = (
        f"The soak ropeway {doc_id} has {cabins} cabins and cost ${cost} million to build. "
        f"In its first month it carried {riders} passengers between the city and the mountain resort, "
        "the operator said on Monday. Officials expect traffic to grow when the winter season opens."
    )
    return {"doc_id": doc_id, "title": f"Soak ropeway {doc_id}", "text": text, "published": "2020-01-15"}


async def _one_request(
    http: httpx.AsyncClient, kind: str, rng: random.Random, mine: list[str], name: str, tally: _Tally
) -> None:
    if kind == "ask":
        question = rng.choice(QUESTIONS)
        response = await http.post("/ask", json={"question": question})
        if response.status_code == 200 and question == FUND_QUESTION:
            answer = response.json().get("answer")
            if answer != FUND_ANSWER:
                tally.error(f"ask {question!r} answered {answer!r}, not {FUND_ANSWER!r}")
    elif kind == "search":
        response = await http.get("/search", params={"q": rng.choice(QUERIES), "k": 5})
    elif kind == "upload":
        response = await http.post("/documents", json=make_document(name, rng))
        if response.status_code in EXPECTED_STATUS["upload"]:
            mine.append(name)
    else:
        doc_id = mine.pop(rng.randrange(len(mine)))
        response = await http.delete(f"/documents/{doc_id}")
    if response.status_code not in EXPECTED_STATUS[kind]:
        tally.error(f"{kind} answered {response.status_code}: {response.text[:200]}")


async def _client(base_url: str, number: int, seed: int, deadline: float, tally: _Tally) -> None:
    """One client: weighted random requests until the deadline; deletes only its own uploads."""
    rng = random.Random(seed * 1000 + number)
    mine: list[str] = []
    kinds, weights = list(WEIGHTS), list(WEIGHTS.values())
    async with httpx.AsyncClient(base_url=base_url, timeout=REQUEST_TIMEOUT_S) as http:
        sent = 0
        while time.monotonic() < deadline:
            kind = rng.choices(kinds, weights)[0]
            if kind == "delete" and not mine:
                kind = "upload"
            started = time.perf_counter()
            try:
                await _one_request(http, kind, rng, mine, f"soak-{number}-{sent}", tally)
            except httpx.HTTPError as exc:
                tally.error(f"{kind} failed: {type(exc).__name__}: {exc}")
            tally.latencies_ms[kind].append((time.perf_counter() - started) * 1000)
            sent += 1


async def _sample_rss(pid: int, stop: asyncio.Event, samples: list[tuple[float, float]]) -> None:
    """(seconds since start, resident MB) of the server every RSS_EVERY_S seconds, and at the end."""
    process, started = psutil.Process(pid), time.monotonic()

    def sample() -> None:
        samples.append((time.monotonic() - started, process.memory_info().rss / 2**20))

    try:
        while not stop.is_set():
            sample()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=RSS_EVERY_S)
        sample()
    except psutil.NoSuchProcess:  # the server died; the caller reports that as an error
        pass


async def _drive(
    base_url: str, pid: int, seconds: float, clients: int, seed: int
) -> tuple[_Tally, list[tuple[float, float]]]:
    tally: _Tally = _Tally()
    samples: list[tuple[float, float]] = []
    stop = asyncio.Event()
    sampler = asyncio.create_task(_sample_rss(pid, stop, samples))
    deadline = time.monotonic() + seconds
    workers = [_client(base_url, number, seed, deadline, tally) for number in range(clients)]
    try:  # requests in flight at the deadline may finish; nothing runs on past this bound
        await asyncio.wait_for(asyncio.gather(*workers), timeout=seconds + 2 * REQUEST_TIMEOUT_S)
    finally:
        stop.set()
        await sampler
    return tally, samples or [(0.0, 0.0)]


def _memory(samples: list[tuple[float, float]]) -> dict[str, float]:
    """Start, end, peak and growth of the server's memory; "warm" is after the first requests.

    The first requests grow the heap (model activations, allocator pools); growth after
    WARMUP_S (or a fifth of the run, if shorter) is the number that would show a leak.
    """
    values = [mb for _, mb in samples]
    warmup = min(WARMUP_S, samples[-1][0] / 5)
    warm = next(mb for t, mb in samples if t >= warmup)
    return {
        "rss_start_mb": round(values[0], 1),
        "rss_warm_mb": round(warm, 1),
        "rss_end_mb": round(values[-1], 1),
        "rss_peak_mb": round(max(values), 1),
        "rss_growth_mb": round(values[-1] - values[0], 1),
        "rss_growth_after_warmup_mb": round(values[-1] - warm, 1),
    }


def _percentile(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 1) if values else 0.0


def run_soak(
    minutes: float, index_dir: Path, clients: int = 4, seed: int = 0, port: int | None = None
) -> dict:
    """Serve a copy of index_dir and send it mixed traffic for `minutes`; return what happened."""
    index_dir = Path(index_dir)
    if not (index_dir / "CURRENT").is_file():
        raise IndexMissingError(f"no index at {index_dir}; build one with `rag index`")
    workdir = Path(tempfile.mkdtemp(prefix="rag-soak-"))
    try:
        copy = workdir / "index"
        shutil.copytree(index_dir, copy, ignore=shutil.ignore_patterns(".lock", "tmp-*"))
        tally, rss, duration = _serve_and_drive(copy, port or free_port(), minutes * 60, clients, seed)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    every = [ms for values in tally.latencies_ms.values() for ms in values]
    return {
        "requests": len(every),
        "errors": tally.errors,
        "by_kind": {kind: len(values) for kind, values in tally.latencies_ms.items()},
        **_memory(rss),
        "duration_s": round(duration, 1),
        "p50_ms": _percentile(every, 50),
        "p95_ms": _percentile(every, 95),
        "latency_ms_by_kind": {
            kind: {"p50": _percentile(values, 50), "p95": _percentile(values, 95)}
            for kind, values in tally.latencies_ms.items()
        },
        "clients": clients,
        "seed": seed,
        "error_samples": tally.error_samples,
    }


def _serve_and_drive(
    index_dir: Path, port: int, seconds: float, clients: int, seed: int
) -> tuple[_Tally, list[tuple[float, float]], float]:
    """Start the server, drive it for `seconds`, stop it: (tally, RSS samples, seconds driven)."""
    base_url = f"http://127.0.0.1:{port}"
    log_path = index_dir.parent / "serve.log"
    process = start_server(index_dir, port, log_path)
    try:
        wait_until_healthy(process, base_url, log_path)
        started = time.monotonic()
        tally, rss = asyncio.run(_drive(base_url, process.pid, seconds, clients, seed))
        duration = time.monotonic() - started
        if process.poll() is not None:
            tally.error(f"the server exited with status {process.returncode}")
    finally:
        stop_server(process)
    return tally, rss, duration


def render_markdown(report: dict, command: str) -> str:
    """The soak section of docs/benchmarks.md."""
    kinds = ", ".join(f"{kind} {count:,}" for kind, count in sorted(report["by_kind"].items()))
    latency = "; ".join(
        f"{kind} {values['p50']:g} / {values['p95']:g}"
        for kind, values in sorted(report["latency_ms_by_kind"].items())
    )
    return (
        f"`{command}` on {time.strftime('%Y-%m-%d')}: {report['clients']} clients for "
        f"{report['duration_s']:g} s against `rag serve` on 127.0.0.1 over a copy of the index.\n\n"
        f"| figure | value |\n|---|---|\n"
        f"| requests | {report['requests']:,} ({kinds}) |\n"
        f"| errors | {report['errors']} |\n"
        f"| latency p50 / p95, all | {report['p50_ms']:g} / {report['p95_ms']:g} ms |\n"
        f"| latency p50 / p95 by kind (ms) | {latency} |\n"
        "| server RSS: start, after warm-up, end, peak | "
        f"{report['rss_start_mb']:g}, {report['rss_warm_mb']:g}, {report['rss_end_mb']:g}, "
        f"{report['rss_peak_mb']:g} MB |\n"
        f"| growth after warm-up | {report['rss_growth_after_warmup_mb']:+g} MB |\n"
    )
