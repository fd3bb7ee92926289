"""The span reader through ONNX Runtime: the same network, exported once per set of weights.

The first load of a weights file exports the network (torch is needed then) into the ONNX cache
beside the query encoder's (`~/.cache/numrag/onnx`), checks its logits against torch's on probe
windows, and moves it in atomically; every later load only opens the file, so serving imports no
torch. On the two cores here it reads four windows in about 34 ms where torch takes 44 ms
(docs/benchmarks.md).
"""

from __future__ import annotations

import contextlib
import hashlib
import uuid
from pathlib import Path
from typing import Any

import numpy as np

from index.errors import ModelError

EXPORT_VERSION = 1
MAX_LOGIT_DIFFERENCE = 1e-3  # an export whose logits differ more from torch's is refused
_PROBE = (
    ("How many stations will the line have?", "The 22.4 km line will have 18 stations and one depot."),
    ("What was the trade turnover?", "Trade grew by 11.1%, reaching $11.7 billion in 2018."),
)
_AXES = {0: "windows", 1: "pieces"}


class OnnxNet:
    """An ONNX Runtime session of the reader network: (ids, mask, types) -> (start, end) logits."""

    def __init__(self, path: Path, threads: int = 2) -> None:
        try:
            import onnxruntime

            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            self._session = onnxruntime.InferenceSession(
                str(path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:
            raise ModelError(f"the reader's ONNX model {path} cannot be loaded: {exc}") from exc

    def __call__(self, ids: np.ndarray, mask: np.ndarray, types: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        start, end = self._session.run(None, {"ids": ids, "mask": mask, "types": types})
        return np.asarray(start, dtype=np.float32), np.asarray(end, dtype=np.float32)


def onnx_path(weights: Path, cache_dir: Path) -> Path:
    """Where the export of a weights file lives: named by a hash of the weights' bytes."""
    digest = hashlib.sha256(f"reader-export-{EXPORT_VERSION}".encode())
    with weights.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return cache_dir / f"reader-{digest.hexdigest()[:16]}.onnx"


def export_reader(model: Any, tokenizer: Any, target: Path) -> None:
    """Export the torch reader network to target, refused unless its logits match torch's."""
    import warnings

    import torch

    encodings = tokenizer.encode_batch(list(_PROBE))
    ids = torch.tensor([e.ids for e in encodings])
    mask = torch.tensor([e.attention_mask for e in encodings])
    types = torch.tensor([e.type_ids for e in encodings])
    partial = target.with_name(f"{target.name}.tmp-{uuid.uuid4().hex[:8]}")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings(), torch.inference_mode():
            warnings.simplefilter("ignore")
            axes = {name: _AXES for name in ("ids", "mask", "types", "start", "end")}
            torch.onnx.export(model.eval(), (ids, mask, types), str(partial), opset_version=17, dynamo=False,
                              dynamic_axes=axes, input_names=["ids", "mask", "types"],
                              output_names=["start", "end"])  # fmt: skip
            expected = [t.numpy() for t in model(ids, mask, types)]
        found = OnnxNet(partial, threads=1)(ids.numpy(), mask.numpy(), types.numpy())
        difference = max(float(np.abs(a - b).max()) for a, b in zip(expected, found, strict=True))
        if difference > MAX_LOGIT_DIFFERENCE:
            raise ModelError(f"the reader's ONNX export differs from torch by {difference:.2g} in a logit")
        partial.replace(target)  # atomic: a process starting meanwhile sees no half-written file
    except ModelError:
        raise
    except Exception as exc:
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
        raise ModelError(f"the ONNX export of the reader failed: {first_line}") from exc
    finally:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
