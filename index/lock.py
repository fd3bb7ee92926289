"""An exclusive, cross-process write lock on an index directory."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from index.errors import IndexLockedError


class IndexLock:
    """Hold `.lock` in an index directory; waits up to `timeout` seconds for another writer."""

    def __init__(
        self, index_dir: Path, timeout: float = 60.0, on_wait: Callable[[str], None] | None = None
    ) -> None:
        self.path = index_dir / ".lock"
        self.timeout = timeout
        self.on_wait = on_wait
        self._fd: int | None = None

    def __enter__(self) -> IndexLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + self.timeout
        warned = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise IndexLockedError(
                        f"another process ({_holder(self.path)}) is writing the index at "
                        f"{self.path.parent}; waited {self.timeout:.0f} s. Try again when it "
                        "has finished"
                    ) from None
                if self.on_wait and not warned:
                    self.on_wait(f"waiting for another writer ({_holder(self.path)}) to finish…")
                    warned = True
                time.sleep(0.1)
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()}\n".encode())
        self._fd = fd
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def _holder(path: Path) -> str:
    try:
        return path.read_text().strip() or "unknown pid"
    except OSError:
        return "unknown pid"
