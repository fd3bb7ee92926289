"""Distributed embedding with Ray Data: the optional `numrag[scale]` extra.

`RayEmbedder` wraps an embedder already loaded in the driver. Short calls (a query's
`embed_batch`, `count_model_tokens`) stay in process; `embed_many` streams the texts through a
pool of Ray actors, each holding its own copy of the model, and writes the vectors back into
their rows as batches arrive (Ray does not keep order, so each row carries its number).

    with RayEmbedder(load_embedder(model), model, workers=4) as embedder:
        vectors = embedder.embed_many(texts, on_batch=progress.advance)

With no address it starts a private local Ray and stops it on `shutdown()`; with an address
("auto", "host:6379", "ray://host:10001") it joins that cluster and only disconnects from it.
Every node of a cluster needs numrag and its model package installed. Ray is imported only
inside the functions that use it, so this module imports without it.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from types import ModuleType, TracebackType
from typing import TYPE_CHECKING

import numpy as np

from index.embed import Embedder, RowNumbers, length_sorted_batches, load_embedder
from index.errors import ModelError
from index.paths import with_checkout_on_path

if TYPE_CHECKING:
    import ray.data

log = logging.getLogger(__name__)
INSTALL_HINT = "pip install 'numrag[scale]'"
CONNECT_TIMEOUT_S = 5.0
LOCAL_START_ATTEMPTS = 3  # a local Ray whose raylet misses its 30 s start is started again
# The workers never reach a model hub, and one tokenizer thread pool per actor would oversubscribe the cores.
WORKER_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}


class RayEmbedder(Embedder):
    """An embedder whose `embed_many` runs on a pool of Ray actors, locally or on a cluster."""

    def __init__(
        self,
        local: Embedder,
        model: str,
        address: str | None = None,
        workers: int = 2,
        device: str = "cpu",
        batch_size: int = 64,
        cpus_per_worker: int | None = None,
    ) -> None:
        if workers < 1 or batch_size < 1:
            raise ValueError(f"workers ({workers}) and batch_size ({batch_size}) must be 1 or more")
        self._local = local
        self.name = local.name
        self.dim = local.dim
        self.max_tokens = local.max_tokens
        self.model = model
        self.address = address
        self.workers = workers
        self.device = device
        self.batch_size = batch_size
        # A local Ray shares this machine's cores among the actors; a cluster node's share is unknown.
        default_cpus = 1 if address not in (None, "local") else max(1, (os.cpu_count() or 1) // workers)
        self.cpus_per_worker = cpus_per_worker or default_cpus
        self._ray = import_ray()
        started = time.perf_counter()
        self._owns_connection = connect_ray(self._ray, address, workers * self.cpus_per_worker)
        self.init_seconds = time.perf_counter() - started

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        """Embed a few texts (a query) in this process, with no round trip to the actors."""
        return self._local.embed_batch(texts)

    def count_model_tokens(self, text: str) -> int:
        """Word pieces the model's tokenizer makes of text, counted in this process."""
        return self._local.count_model_tokens(text)

    def embed_many(
        self,
        texts: Sequence[str],
        batch_size: int | None = None,
        on_batch: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        """Embed texts on the actor pool (batches of this embedder's size unless given), calling
        on_batch(n_done) as each batch arrives."""
        return super().embed_many(texts, batch_size or self.batch_size, on_batch)

    def embed_stream(
        self, texts: Sequence[str], batch_size: int | None = None
    ) -> Iterator[tuple[RowNumbers, np.ndarray]]:
        """(int64 row numbers, float32 vectors) of each batch, in the order the actors finish them."""
        if not texts:
            return
        dataset = self._embedded_dataset(texts, batch_size or self.batch_size)
        try:
            for batch in dataset.iter_batches(batch_size=None, batch_format="numpy"):
                yield batch["row"].astype(np.int64), np.asarray(batch["vector"], dtype=np.float32)
        except self._ray.exceptions.RayError as exc:
            first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
            raise ModelError(f"embedding with {self.model!r} on Ray failed: {first_line}") from exc

    def _embedded_dataset(self, texts: Sequence[str], batch_size: int) -> ray.data.Dataset:
        """The lazy dataset: one block per length-sorted batch, mapped by a pool of embedding actors."""
        import ray.data

        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False
        context.print_on_execution_start = False
        logging.getLogger("ray.data").setLevel(logging.WARNING)  # no "execution finished" line per call
        # Similar lengths in a block mean little padding; one block per batch spreads them over the actors.
        # from_items builds its blocks here in the driver (from_arrow waits on a remote metadata task).
        batches = length_sorted_batches(texts, batch_size)
        items = [{"row": row, "text": texts[row]} for rows in batches for row in rows]
        return ray.data.from_items(items, override_num_blocks=len(batches)).map_batches(
            EmbedActor,
            batch_size=batch_size,
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=self.workers),
            num_cpus=self.cpus_per_worker,
            num_gpus=1 if self.device.startswith("cuda") else 0,
            fn_constructor_kwargs={
                "model": self.model,
                "device": self.device,
                "threads": self.cpus_per_worker,
            },
        )

    def shutdown(self) -> None:
        """Stop the local Ray this embedder started, or disconnect from the cluster it joined."""
        if self._owns_connection and self._ray.is_initialized():
            self._ray.shutdown()
        self._owns_connection = False

    def __enter__(self) -> RayEmbedder:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.shutdown()


class EmbedActor:
    """One Ray actor of the pool: loads the model once, then embeds the batches it is given."""

    def __init__(self, model: str, device: str, threads: int) -> None:
        self._embedder = load_embedder(model, device)
        self._threads = max(1, threads)
        if "torch" in sys.modules:  # the sentence-transformers fallback: keep torch to this actor's share
            sys.modules["torch"].set_num_threads(self._threads)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Vectors of batch["text"], keyed by their row numbers."""
        texts = batch["text"].tolist()
        # As many sub-batches as threads: the ONNX embedder runs them side by side, one thread each.
        vectors = self._embedder.embed_many(texts, batch_size=math.ceil(len(texts) / self._threads))
        return {"row": np.asarray(batch["row"], dtype=np.int64), "vector": vectors}


def import_ray() -> ModuleType:
    """The ray module, or a ModelError saying how to install it."""
    try:
        import ray
        import ray.data  # the Data library is a separate extra of ray
    except ImportError as exc:
        raise ModelError(
            f"distributed embedding needs Ray Data, which is not installed; run `{INSTALL_HINT}`"
        ) from exc
    return ray


def connect_ray(ray: ModuleType, address: str | None, local_cpus: int) -> bool:
    """Start a local Ray (address None or "local") or join a cluster; True when this call connected."""
    cluster = None if address in (None, "local") else address
    if cluster:
        check_reachable(cluster)
    if ray.is_initialized():
        log.info("using the Ray this process already started")
        return False
    if cluster:
        join_cluster(ray, cluster)
    else:
        start_local_ray(ray, local_cpus)
    return True


def start_local_ray(ray: ModuleType, local_cpus: int, attempts: int = LOCAL_START_ATTEMPTS) -> None:
    """Start a private local Ray. Ray gives its raylet 30 s to register, which a busy machine can
    miss ("The current node timed out during startup"): the half-started Ray is shut down and
    started again, up to `attempts` times in all."""
    for attempt in range(1, attempts + 1):
        try:
            ray.init(
                address="local",  # a private Ray, whatever RAY_ADDRESS says (it would join that cluster)
                num_cpus=max(os.cpu_count() or 1, local_cpus),
                include_dashboard=False,
                ignore_reinit_error=True,
                log_to_driver=False,
                logging_level=logging.WARNING,
                runtime_env={"env_vars": worker_env()},
            )
            return
        except Exception as exc:  # Ray raises a bare Exception for a node that timed out starting
            if attempt == attempts or "timed out during startup" not in str(exc):
                raise
            log.warning("the local Ray did not start in time (attempt %d of %d); starting it again", attempt,
                        attempts)  # fmt: skip
            ray.shutdown()


def worker_env() -> dict[str, str]:
    """The actors' environment: offline, and a source checkout on PYTHONPATH so they import index.embed
    from it (an installed copy is found by the workers' interpreter as it is)."""
    pythonpath = with_checkout_on_path(None)
    return {**WORKER_ENV, "PYTHONPATH": pythonpath} if pythonpath else dict(WORKER_ENV)


def join_cluster(ray: ModuleType, address: str) -> None:
    """Connect this process to the Ray cluster at address, or raise a ModelError naming it."""
    try:
        ray.init(
            address=address,
            log_to_driver=False,
            logging_level=logging.WARNING,
            runtime_env={"env_vars": dict(WORKER_ENV)},
        )
    except Exception as exc:  # ConnectionError, a version mismatch, a refused Ray Client handshake...
        raise ModelError(
            f"cannot join the Ray cluster at {address!r}: {exc}. Check the address, or leave it unset "
            "to embed on a local Ray"
        ) from exc


def check_reachable(address: str) -> None:
    """Fail fast, naming the address, when nothing listens at a "host:port" or "ray://host:port"."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return  # "auto" and other forms are Ray's to resolve
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT_S):
            pass
    except OSError as exc:
        raise ModelError(
            f"cannot reach the Ray cluster at {address!r} ({exc}); start it there with `ray start --head`, "
            "check the host and port, or leave the address unset to embed on a local Ray"
        ) from exc
