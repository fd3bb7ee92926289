"""`rag serve` as a subprocess on 127.0.0.1, a bounded load generator, cold starts and memory.

Traffic goes to the loopback address only; every loop is bounded by a deadline and every
request by a timeout, so a run stops by itself.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Coroutine, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.query import percentiles
from index.paths import with_checkout_on_path

HOST = "127.0.0.1"  # loopback only: the load generator never targets another address
START_TIMEOUT_S = 180.0
REQUEST_TIMEOUT_S = 30.0


class BenchError(Exception):
    """A benchmark step could not run (a child process failed or did not answer)."""


@dataclass
class Server:
    """A running `rag serve` and what it took to start it."""

    process: subprocess.Popen
    base_url: str
    log: Path
    started: float  # perf_counter when it was launched
    first_answer_s: float = 0.0  # launch to the first answered /ask


@dataclass
class LoadResult:
    """What the load generator saw."""

    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0


def rag_command() -> list[str]:
    """The `rag` console script of this interpreter, or `python -m cli.main` without one."""
    script = Path(sys.executable).parent / "rag"
    return [str(script)] if script.exists() else [sys.executable, "-m", "cli.main"]


def child_env(index_dir: Path) -> dict[str, str]:
    """The environment of a child `rag`: offline, this checkout first, the given index."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    path = with_checkout_on_path(env.get("PYTHONPATH"))
    env.update(
        RAG_INDEX_DIR=str(index_dir),
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
    )
    if path:  # a source checkout first; an installed copy is found by the interpreter
        env["PYTHONPATH"] = path
    return env


def free_port() -> int:
    """A TCP port on the loopback address that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


@contextmanager
def running_server(
    index_dir: Path, log: Path, question: str, extra_env: dict[str, str] | None = None
) -> Iterator[Server]:
    """`rag serve` over index_dir on a free loopback port, answering before it is handed out."""
    port = free_port()
    command = [*rag_command(), "serve", "--host", HOST, "--port", str(port), "--log-level", "warning"]
    with log.open("w") as output:  # a file, not a pipe: a full pipe would block the server
        process = subprocess.Popen(
            command,
            cwd=log.parent,
            env={**child_env(index_dir), **(extra_env or {})},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    server = Server(process, f"http://{HOST}:{port}", log, time.perf_counter())
    try:
        _wait_for_first_answer(server, question)
        yield server
    finally:
        stop(process)


def _wait_for_first_answer(server: Server, question: str) -> None:
    deadline = server.started + START_TIMEOUT_S
    while time.perf_counter() < deadline:
        if server.process.poll() is not None:
            raise BenchError(f"rag serve exited with {server.process.returncode}:\n{server.log.read_text()}")
        try:
            response = httpx.post(f"{server.base_url}/ask", json={"question": question}, timeout=10.0)
        except httpx.TransportError:
            time.sleep(0.05)
            continue
        if response.status_code != 200:
            raise BenchError(f"rag serve answered {response.status_code}: {response.text[:300]}")
        server.first_answer_s = time.perf_counter() - server.started
        return
    raise BenchError(f"rag serve did not answer within {START_TIMEOUT_S:.0f} s:\n{server.log.read_text()}")


def stop(process: subprocess.Popen) -> None:
    """SIGTERM (uvicorn's graceful stop), then SIGKILL if it lingers."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def server_rss_mb(server: Server) -> float:
    """Resident memory of the server process, in MiB."""
    import psutil

    return psutil.Process(server.process.pid).memory_info().rss / 2**20


def cpu_seconds(server: Server | None) -> float:
    """User plus system CPU seconds of the server process (None: this process) so far."""
    import psutil

    times = psutil.Process(server.process.pid if server else None).cpu_times()
    return times.user + times.system


def ask_all(server: Server, questions: Sequence[str], clients: int) -> LoadResult:
    """Ask each question once, `clients` at a time (a warm-up, or a memory probe)."""
    return _run(_load(server.base_url, questions, clients, seconds=None))


def run_load(server: Server, questions: Sequence[str], clients: int, seconds: float) -> LoadResult:
    """`clients` concurrent clients asking questions in turn for `seconds`."""
    return _run(_load(server.base_url, questions, clients, seconds=seconds))


def _run(load: Coroutine[Any, Any, LoadResult]) -> LoadResult:
    """Run the load generator on uvloop where it is installed: it shares the cores with the server,
    and the cheaper its event loop, the less of the server's latency is the generator's own."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(load)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(load)


async def _load(base_url: str, questions: Sequence[str], clients: int, seconds: float | None) -> LoadResult:
    if not base_url.startswith(f"http://{HOST}:"):
        raise BenchError(f"the load generator only targets {HOST}, not {base_url}")
    result = LoadResult()
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    started = time.perf_counter()
    deadline = started + seconds if seconds is not None else None
    async with httpx.AsyncClient(base_url=base_url, timeout=REQUEST_TIMEOUT_S, limits=limits) as client:
        workers = [_client(client, questions, n, clients, deadline, result) for n in range(clients)]
        await asyncio.gather(*workers)
    result.seconds = time.perf_counter() - started
    return result


async def _client(
    client: httpx.AsyncClient,
    questions: Sequence[str],
    first: int,
    step: int,
    deadline: float | None,
    result: LoadResult,
) -> None:
    """Ask questions first, first+step, …: once through (no deadline) or round and round until it."""
    position = first
    while True:
        if deadline is None and position >= len(questions):
            return
        if deadline is not None and time.perf_counter() >= deadline:
            return
        question = questions[position % len(questions)]
        position += step
        started = time.perf_counter()
        try:
            response = await client.post("/ask", json={"question": question})
            ok = response.status_code == 200
        except httpx.HTTPError:
            ok = False
        result.latencies_ms.append((time.perf_counter() - started) * 1000)
        result.errors += not ok


def load_summary(result: LoadResult, clients: int, pool: int) -> dict[str, float]:
    """Requests per second, latency percentiles and errors of a load run."""
    answered = len(result.latencies_ms) - result.errors
    return {
        "clients": clients,
        "seconds": result.seconds,
        "requests": len(result.latencies_ms),
        "errors": result.errors,
        "rps": answered / max(result.seconds, 1e-9),
        "question_pool": pool,
        **{f"{k}_ms": v for k, v in percentiles(result.latencies_ms).items()},
    }


def cli_cold_start(index_dir: Path, question: str, runs: int, work_dir: Path) -> list[float]:
    """Seconds of `rag ask QUESTION` from process start to exit, `runs` times."""
    spent = []
    for _ in range(runs):
        started = time.perf_counter()
        completed = subprocess.run(
            [*rag_command(), "ask", question, "--json"],
            cwd=work_dir,
            env=child_env(index_dir),
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT_S,
        )
        spent.append(time.perf_counter() - started)
        if completed.returncode != 0:
            raise BenchError(f"rag ask failed ({completed.returncode}): {completed.stderr[-500:]}")
    return spent
