"""Fine-tune the span reader on the training split: seeded, deterministic, with progress.

The whole encoder (the embedding model's MiniLM) is trained with a span head; the word-piece
embeddings stay frozen (they keep the vocabulary the questions of unseen text use, and save a
third of the optimiser's work). Windows are batched by length so little padding is computed.
"""

from __future__ import annotations

import os
import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from index.embed import resolve_model_path
from rag.reader import READER_BASE_MODEL, build_model, clipped_question, pair_tokenizer
from train.examples import QAExample
from train.features import Window, article_windows, windows_of


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides the trained weights (written into the model card)."""

    seed: int = 13
    max_length: int = 160  # word pieces of question and window together
    batch_size: int = 32
    learning_rate: float = 1e-4
    weight_decay: float = 0.01
    warmup_share: float = 0.06
    epochs: int = 1
    negatives: int = 1  # negative windows per question
    max_questions: int | None = None  # reader questions used (numeric ones first); None: all
    device: str = "cpu"


@dataclass(frozen=True)
class Encoded:
    """Tokenised windows with their start and end labels (0: [CLS], no answer)."""

    ids: list[list[int]]
    types: list[list[int]]
    allowed: list[list[bool]]
    starts: list[int]
    ends: list[int]


def select_questions(examples: list[QAExample], config: TrainConfig) -> list[QAExample]:
    """Answerable questions, every numeric one first, then others in a seeded order up to the budget."""
    rng = random.Random(config.seed)
    answerable = [e for e in examples if e.answerable]
    numeric = [e for e in answerable if e.numeric]
    others = [e for e in answerable if not e.numeric]
    rng.shuffle(others)
    chosen = numeric + others
    return chosen[: config.max_questions] if config.max_questions else chosen


def build_windows(questions: list[QAExample], articles: dict[str, list[str]], seed: int,
                  negatives: int) -> list[Window]:  # fmt: skip
    """Positive and negative windows of each question, in a seeded order."""
    rng = random.Random(seed)
    by_group: dict[str, list[str]] = {}
    windows: list[Window] = []
    for example in questions:
        if example.group not in by_group:
            by_group[example.group] = article_windows(articles.get(example.group) or [example.context])
        windows += windows_of(example, by_group[example.group], rng, negatives)
    return windows


def encode_windows(windows: list[Window], tokenizer: Any) -> Encoded:
    """Token ids and span labels; a window whose answer was cut off by truncation is left out."""
    encoded = Encoded([], [], [], [], [])
    batch = tokenizer.encode_batch([(clipped_question(w.question), w.text) for w in windows])
    for window, encoding in zip(windows, batch, strict=True):
        n = sum(encoding.attention_mask)
        allowed = [i == 0 or s == 1 for i, s in enumerate(encoding.sequence_ids[:n])]
        if window.answer_start < 0:
            start = end = 0
        else:
            start, end = _token_span(encoding, n, window.answer_start, window.answer_end)
            if start is None:
                continue
        encoded.ids.append(encoding.ids[:n])
        encoded.types.append(encoding.type_ids[:n])
        encoded.allowed.append(allowed)
        encoded.starts.append(start)
        encoded.ends.append(end)
    return encoded


def _token_span(encoding: Any, n: int, first: int, last: int) -> tuple[int | None, int | None]:
    inside = [
        i for i in range(n)
        if encoding.sequence_ids[i] == 1 and encoding.offsets[i][0] < last and encoding.offsets[i][1] > first
    ]  # fmt: skip
    if not inside or encoding.offsets[inside[-1]][1] < last:
        return None, None
    return inside[0], inside[-1]


def length_batches(lengths: list[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Shuffled batches of windows of similar length (sorted within pools of 50 batches)."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    pool = batch_size * 50
    batches = []
    for first in range(0, len(order), pool):
        chunk = sorted(order[first : first + pool], key=lambda i: lengths[i])
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def fit_reader(
    encoded: Encoded, config: TrainConfig, on_step: Callable[[int, int, float], None] | None = None
) -> Any:
    """Train the reader network on encoded windows; returns it in eval mode."""
    import torch

    seed_everything(config.seed)
    torch.set_num_threads(os.cpu_count() or 1)
    base_dir = Path(resolve_model_path(READER_BASE_MODEL))
    model = build_model(base_dir)
    _load_base_encoder(model, base_dir)
    model.encoder.embeddings.word_embeddings.weight.requires_grad_(False)
    model.to(config.device).train()
    rng = random.Random(config.seed)
    schedule = [
        b for _ in range(config.epochs)
        for b in length_batches([len(i) for i in encoded.ids], config.batch_size, rng)
    ]  # fmt: skip
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(trainable, lr=config.learning_rate, weight_decay=config.weight_decay)
    warmup = max(1, int(config.warmup_share * len(schedule)))
    total = len(schedule)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda step: _lr_share(step, warmup, total))
    for step, batch in enumerate(schedule):
        ids, mask, types, allowed, starts, ends = _tensors(encoded, batch, config.device)
        start_logits, end_logits = model(ids, mask, types)
        blocked = torch.finfo(start_logits.dtype).min
        start_logits = start_logits.masked_fill(~allowed, blocked)
        end_logits = end_logits.masked_fill(~allowed, blocked)
        loss = (torch.nn.functional.cross_entropy(start_logits, starts)
                + torch.nn.functional.cross_entropy(end_logits, ends)) / 2  # fmt: skip
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        optimiser.step()
        scheduler.step()
        optimiser.zero_grad(set_to_none=True)
        if on_step:
            on_step(step + 1, len(schedule), float(loss.detach()))
    return model.eval()


def _lr_share(step: int, warmup: int, total: int) -> float:
    """Linear warm-up to the full learning rate, then linear decay to zero."""
    return min((step + 1) / warmup, max(0.0, (total - step) / max(1, total - warmup)))


def _tensors(encoded: Encoded, batch: list[int], device: str) -> tuple[Any, ...]:
    import torch

    width = max(len(encoded.ids[i]) for i in batch)
    ids = torch.zeros((len(batch), width), dtype=torch.long)
    types = torch.zeros_like(ids)
    mask = torch.zeros_like(ids)
    allowed = torch.zeros((len(batch), width), dtype=torch.bool)
    for row, i in enumerate(batch):
        n = len(encoded.ids[i])
        ids[row, :n] = torch.tensor(encoded.ids[i])
        types[row, :n] = torch.tensor(encoded.types[i])
        mask[row, :n] = 1
        allowed[row, :n] = torch.tensor(encoded.allowed[i])
    starts = torch.tensor([encoded.starts[i] for i in batch])
    ends = torch.tensor([encoded.ends[i] for i in batch])
    return tuple(t.to(device) for t in (ids, mask, types, allowed, starts, ends))


def _load_base_encoder(model: Any, base_dir: Path) -> None:
    """Start from the base model's pretrained encoder weights."""
    from safetensors.torch import load_file

    state = load_file(str(base_dir / "model.safetensors"))
    state = {name.removeprefix("bert."): tensor for name, tensor in state.items()}
    missing, _ = model.encoder.load_state_dict(state, strict=False)
    if missing:
        raise RuntimeError(f"the base model {base_dir} lacks encoder weights: {missing[:3]}")


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch, and ask torch for deterministic kernels."""
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)


def count_by_source(examples: list[QAExample]) -> dict[str, int]:
    """Questions per dataset."""
    counts: dict[str, int] = defaultdict(int)
    for example in examples:
        counts[example.source] += 1
    return dict(sorted(counts.items()))


def tokenizer_for(max_length: int) -> Any:
    """The base model's tokenizer, encoding (question, window) pairs of at most max_length pieces."""
    from tokenizers import Tokenizer

    base_dir = Path(resolve_model_path(READER_BASE_MODEL))
    tokenizer = Tokenizer.from_file(str(base_dir / "tokenizer.json"))
    return pair_tokenizer(tokenizer, max_length)
