"""The model card written beside trained reader weights (MODEL_CARD.md), from the training record."""

from __future__ import annotations

from pathlib import Path
from typing import Any

CARD_FILE = "MODEL_CARD.md"


def write_card(reader_dir: Path, card: dict[str, Any]) -> Path:
    """Render the training record as Markdown next to the weights."""
    path = reader_dir / CARD_FILE
    path.write_text(render_card(card), encoding="utf-8")
    return path


def render_card(card: dict[str, Any]) -> str:
    """The model card as Markdown: what it is, data, command, time, hardware, validation metrics."""
    data, validation, chosen = card["data"], card["validation"], card["validation"]["chosen"]
    config = card["config"]
    lines = [
        "# Span reader: model card",
        "",
        "A fine-tuned all-MiniLM-L6-v2 encoder with a span head. It reads a question with one sentence",
        "and the sentence before it and scores every span as the answer; numrag's answerer keeps the",
        "spans that hold a quantity its parser finds, so every answer is a number in a cited sentence.",
        "",
        "## Training",
        "",
        f"- Command: `{card['command']}` (seed {card['seed']})",
        f"- Wall time: {card['wall_time_s']['training']:.0f} s training, "
        f"{card['wall_time_s']['total']:.0f} s with validation",
        f"- Hardware: {_hardware(card['hardware'])}",
        f"- {config['epochs']} epoch(s), batch {config['batch_size']}, "
        f"learning rate {config['learning_rate']}, windows of at most "
        f"{config['max_length']} word pieces, {config['negatives']} negative window(s) "
        "per question; word-piece embeddings frozen",
        f"- Windows: {data['training_windows']:,} ({data['positive_windows']:,} holding the answer)",
        "",
        "| training source | questions available | used |",
        "|---|---|---|",
        *(
            f"| {name} | {count:,} | {data['training_questions_used'].get(name, 0):,} |"
            for name, count in data["training_questions_available"].items()
        ),
        "",
        "Every numeric answerable question is used, then others in a seeded order up to the budget.",
        "The split is by article title or context (`train/splits.py`): the 16 SQuAD v1.1 dev articles",
        "of the SQuAD 2.0 dev half are validation, and one TAT-QA context in ten is held out.",
        "",
        "## Validation (chosen on it: sentences read, calibration, threshold)",
        "",
        *(
            f"- {name}: {info['questions']:,} questions over {info['documents']:,} documents"
            for name, info in validation["sets"].items()
        ),  # fmt: skip
        f"- Threshold: confidence ≥ {chosen['calibration']['threshold']:.3f}, the lowest at which wrong "
        f"numbers stay within {validation['wrong_budget']:.0%} of the answerable validation questions",
        "",
        "| ranked by | sentences read | kinds | right | wrong | coverage | abstention recall "
        "| precision | Brier |",
        "|---|---|---|---|---|---|---|---|---|",
        *(
            f"| {c['rank_by']} | {c['windows']}{' (chosen)' if c == chosen else ''} | "
            f"{c['kind_rule']} | "
            f"{c['right']:.3f} | {c['wrong']:.3f} | {c['coverage']:.3f} | {c['abstention_recall']:.3f} | "
            f"{c['precision']:.3f} | {c['brier']:.3f} |"
            for c in validation["choices"]
        ),
        "",
        "Right, wrong and coverage are shares of the answerable SQuAD questions; abstention recall is",
        "the share of SQuAD 2.0 unanswerable questions abstained on.",
        "",
        "Reliability of the chosen setting (best candidate of every answerable validation question):",
        "",
        "| confidence | answers | mean confidence | right |",
        "|---|---|---|---|",
        *(
            f"| {b['low']:.1f}–{b['high']:.1f} | {b['n']} | {b['confidence']:.3f} | {b['right']:.3f} |"
            for b in chosen["reliability"]
        ),  # fmt: skip
        "",
        "## Limits",
        "",
        "Trained on English Wikipedia, DROP and financial-report questions; the bundled news eval set",
        "(eval/questions.jsonl) is a test only and nothing was fitted to it. Calibration is fitted on",
        "SQuAD validation articles: on text far from those, confidence is an estimate, not a guarantee.",
        "",
    ]
    return "\n".join(lines)


def _hardware(hardware: dict[str, Any]) -> str:
    where = hardware.get("gpu") or f"{hardware['cpu_cores']} CPU cores"
    return f"{where}, {hardware['platform']}, Python {hardware['python']}, torch {hardware['torch']}"
