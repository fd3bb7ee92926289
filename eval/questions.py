"""The bundled eval set: the test role of `qadata.splits`, read by `qadata.questions.load_eval_set`."""

from __future__ import annotations

from pathlib import Path

BUNDLED_QUESTIONS = Path(__file__).resolve().parent / "questions.jsonl"
