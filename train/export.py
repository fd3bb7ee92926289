"""Write reader weights (float16 safetensors) and reader.json atomically into a weights folder."""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

from rag.reader import META_FILE, READER_BASE_MODEL, READER_FORMAT, WEIGHTS_FILE


def save_reader(model: Any, target: Path, meta: dict[str, Any]) -> Path:
    """Save the network's weights in float16 with their metadata; the folder is swapped in whole."""
    from safetensors.torch import save_file

    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.tmp-{uuid.uuid4().hex[:8]}")
    partial.mkdir()
    try:
        state = {name: t.detach().to("cpu").half().contiguous() for name, t in model.state_dict().items()}
        save_file(state, str(partial / WEIGHTS_FILE), metadata={"base_model": READER_BASE_MODEL})
        full = {"format": READER_FORMAT, "base_model": READER_BASE_MODEL, **meta}
        (partial / META_FILE).write_text(json.dumps(full, indent=2) + "\n", encoding="utf-8")
        for path in (partial, partial / WEIGHTS_FILE, partial / META_FILE):
            path.chmod(0o755 if path.is_dir() else 0o644)  # package data others must read
        _swap_in(partial, target)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return target


def update_meta(target: Path, **fields: Any) -> None:
    """Rewrite reader.json with fields added or replaced (atomically)."""
    path = Path(target) / META_FILE
    meta = json.loads(path.read_text(encoding="utf-8"))
    meta.update(fields)
    partial = path.with_name(f".{META_FILE}.tmp-{uuid.uuid4().hex[:8]}")
    partial.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    os.replace(partial, path)


def _swap_in(partial: Path, target: Path) -> None:
    """Replace target by partial: the old folder is moved aside, then removed once the new one is in."""
    old = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
    if target.exists():
        os.replace(target, old)
    os.replace(partial, target)
    shutil.rmtree(old, ignore_errors=True)
