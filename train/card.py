"""The model card written beside trained weights (MODEL_CARD.md), from the training record."""

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
    data, validation = card["data"], card["validation"]
    chosen, config = validation["chosen"], card["config"]
    sources = sorted(data["training_questions_available"])
    lines = [
        "# Span reader and ranker: model card",
        "",
        "A fine-tuned all-MiniLM-L6-v2 encoder with a span head reads a question with one sentence and",
        "the sentence before it and scores every span as the answer; numrag keeps the spans that hold a",
        "quantity its parser finds. A ranker then scores each such candidate from the reader's scores",
        "and what a reader of news looks at (the kind of quantity the question wants, from a classifier",
        "of the question's words; the counted noun; the time cues; retrieval), and a calibration turns",
        "the best score into the probability that the answer is right. Every answer is a number in a",
        "cited sentence.",
        "",
        "## Training",
        "",
        f"- Command: `{card['command']}` (seed {card['seed']})",
        f"- Wall time: {card['wall_time_s']['training']:.0f} s training the reader, "
        f"{card['wall_time_s']['total']:.0f} s in all (reading, ranker and validation included)",
        *_refit(card.get("ranker_refit")),
        *_tables_refit(card.get("tables_refit")),
        f"- Hardware: {_hardware(card['hardware'])}",
        f"- Reader: {config['epochs']} epoch(s), batch {config['batch_size']}, learning rate "
        f"{config['learning_rate']}, windows of at most {config['max_length']} word pieces, "
        f"{config['negatives']} negative window(s) per question; word-piece embeddings frozen",
        f"- Reader windows: {data['training_windows']:,} ({data['positive_windows']:,} holding the answer)",
        f"- Question-kind classifier: {data['kind_classifier_questions']:,} training questions with a "
        "numeric gold answer",
        "",
        "| training source | questions | reader fold (used) | ranker fold |",
        "|---|---|---|---|",
        *(
            f"| {name} | {data['training_questions_available'][name]:,} | "
            f"{data['reader_questions'].get(name, 0):,} | {data['ranker_questions'].get(name, 0):,} |"
            for name in sources
        ),
        "",
        "The split is by article, passage or context (`qadata/splits.py`): the 16 SQuAD v1.1 dev",
        "articles of the SQuAD 2.0 dev half and the BBC articles 251-380 are validation, one TAT-QA",
        "context in ten is held out, and one training group in three (BBC, SQuAD, DROP, TAT-QA) is kept",
        "from the reader to train the ranker on the reader's scores of questions it never saw.",
        "",
        "## Validation (chosen on it: sentences read, ranker, calibration, threshold)",
        "",
        *(
            f"- {name}: {info['questions']:,} questions ({info['answerable']:,} answerable), {info['role']}"
            for name, info in validation["sets"].items()
        ),  # fmt: skip
        f"- Threshold: confidence ≥ {chosen['calibration']['threshold']:.3f}, the lowest at which wrong "
        "numbers stay within "
        + ", ".join(f"{share:.0%} on {domain}" for domain, share in validation["wrong_budgets"].items())
        + " (cross-fitted calibration)",
        "",
        "Right, wrong and coverage are shares of a domain's answerable validation questions at the",
        "threshold, with cross-fitted calibration (each article's questions calibrated by a model",
        "fitted without them); abstention recall is the share of unanswerable ones abstained on (BBC",
        "near misses for news, SQuAD 2.0 for Wikipedia); top-1 is the best-ranked candidate's accuracy.",
        "",
        "| sentences | ranker | news weight | news right | news wrong | news abst. | wiki right "
        "| wiki wrong | wiki abst. | top-1 news / wiki |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *(_choice_row(c, all(c[k] == chosen[k] for k in _DESIGN)) for c in validation["choices"]),
        "",
        "The chosen setting's answers as served (the time rules of `rag.decision` applied, what",
        "`rag eval` measures on the same questions): "
        + "; ".join(
            f"{domain} right {f.get('right', 0):.3f}, wrong {f.get('wrong', 0):.3f}"
            + (f", abstention recall {f['abstention_recall']:.3f}" if "abstention_recall" in f else "")
            for domain, f in chosen.get("answered", {}).items()
        )
        + ".",
        "",
        *_tables(chosen, data),
        "Reliability of the chosen setting, by domain (best candidate of every validation question):",
        "",
        *_reliability(chosen["reliability"]),
        "## Limits",
        "",
        "Trained on English Wikipedia, DROP, financial-report and news-quiz questions and 2004-2005 BBC",
        "business news; the bundled eval set (eval/questions.jsonl) is a test only and nothing was",
        "fitted to it. On text far from these, confidence is an estimate, not a guarantee.",
        "",
    ]
    return "\n".join(lines)


_DESIGN = ("windows", "ranker", "news_weight")


def _refit(refit: dict[str, Any] | None) -> list[str]:
    if not refit:
        return []
    return [f"- Ranker refit: `{refit['command']}` in {refit['wall_time_s']:.0f} s; the reader above was "
            "kept, and what follows was fitted again on its readings"]  # fmt: skip


def _tables_refit(refit: dict[str, Any] | None) -> list[str]:
    if not refit:
        return []
    return [f"- Table refit: `{refit['command']}` in {refit['wall_time_s']:.0f} s; the reader, kind "
            "classifier, ranker, calibration and threshold above were kept, and the table ranker and table "
            "calibrations were fitted again on their readings"]  # fmt: skip


def _table_ranker(fit: dict[str, Any] | None) -> list[str]:
    if not fit:
        return []
    weight = f"{fit['table_weight']:g}"
    whose = f"the ranker above, whose table weight ({weight}) is already"
    if fit["own_ranker"]:
        whose = "a ranker of its own: the chosen design fitted with table questions weighing " + weight + ","
    return [
        f"A reading that holds a table cell is ranked by {whose}",
        "the weight at which most training table questions are answered right within the table budget,",
        "each ranked by a ranker fitted without its report and calibrated without its fold. No",
        "validation set has tables, so this weight is chosen on the training reports alone, and a",
        "reading without a table is ranked by the ranker above whatever the table ranker learned.",
        "",
        "| table weight (table ranker) | right, out of fit | right cell first, out of fit |",
        "|---|---|---|",
        *(
            f"| {w}{' (kept)' if w == weight else ''} | {v['right']:.3f} | {v['top1']:.3f} |"
            for w, v in fit["tried"].items()
        ),  # fmt: skip
        "",
    ]


def _tables(chosen: dict[str, Any], data: dict[str, Any]) -> list[str]:
    table = chosen.get("table_calibration")
    if not table:
        return []
    figures = table["cross_fitted"]
    return [
        "",
        "## Table cells",
        "",
        f"The ranker also learns from {data.get('ranker_table_questions', 0):,} TAT-QA training questions",
        "answered from a table, each asked within its own report; they weigh "
        f"{chosen.get('table_weight', 1):g} in its fit: of the",
        "weights whose best design answers validation (news + Wikipedia right) within 0.005 of the best,",
        "the one whose ranker puts a right cell first most often on reports left out of its fit.",
        "",
        "| table weight | right cell first, out of fit | validation right (news + Wikipedia) |",
        "|---|---|---|",
        *_weight_rows(chosen.get("table_weights") or {}),
        "",
        *_table_ranker(chosen.get("table_ranker_fit")),
        "No validation set has tables, so a cell's value has its own calibration, fitted on the",
        "questions that ask for a value as ranked by rankers fitted without their report, with its",
        f"threshold ({table['threshold']:.3f}) the lowest at which wrong cells stay within 10% of them.",
        f"Cross-fitted, over {table['questions']} questions: right {figures['right']:.3f}, wrong "
        f"{figures['wrong']:.3f}, coverage {figures['coverage']:.3f}.",
        "",
        *_comparisons(chosen.get("comparison_calibration")),
    ]


def _weight_rows(weights: dict[str, dict[str, float]]) -> list[str]:
    return [f"| {w} | {v['table_top1']:.3f} | {v['validation_right']:.3f} |" for w, v in weights.items()]


def _comparisons(comparison: dict[str, Any] | None) -> list[str]:
    if not comparison:
        return []
    figures = comparison["cross_fitted"]
    return [
        f"The other {comparison['questions']} ask which year a row's figure was largest, smallest or",
        "beyond a bound. They are answered by comparing the row's cells (`rag.compare`), with a",
        "calibration of their own fitted the same way (row coverage, its lead over the next row's, years",
        f"compared, best cell score) and its threshold ({comparison['threshold']:.3f}) the lowest keeping",
        f"wrong years within 10% of them. Cross-fitted: right {figures['right']:.3f}, wrong "
        f"{figures['wrong']:.3f}, coverage {figures['coverage']:.3f}.",
        "",
    ]


def _choice_row(choice: dict[str, Any], is_chosen: bool) -> str:
    news, wiki = choice["cross_fitted"].get("news", {}), choice["cross_fitted"].get("wiki", {})
    top1 = choice["top1"]
    mark = " (chosen)" if is_chosen else ""
    return (
        f"| {choice['windows']}{mark} | {choice['ranker']} | {choice['news_weight']:g} | "
        f"{news.get('right', 0):.3f} | {news.get('wrong', 0):.3f} | {news.get('abstention_recall', 0):.3f} | "
        f"{wiki.get('right', 0):.3f} | {wiki.get('wrong', 0):.3f} | {wiki.get('abstention_recall', 0):.3f} | "
        f"{top1.get('news', 0):.3f} / {top1.get('wiki', 0):.3f} |"
    )


def _reliability(by_domain: dict[str, list[dict[str, float]]]) -> list[str]:
    lines = []
    for domain, table in by_domain.items():
        lines += [f"{domain}:", "", "| confidence | answers | mean confidence | right |", "|---|---|---|---|"]
        lines += [f"| {b['low']:.1f}–{b['high']:.1f} | {b['n']} | {b['confidence']:.3f} | {b['right']:.3f} |"
                  for b in table]  # fmt: skip
        lines.append("")
    return lines


def _hardware(hardware: dict[str, Any]) -> str:
    where = hardware.get("gpu") or f"{hardware['cpu_cores']} CPU cores"
    return f"{where}, {hardware['platform']}, Python {hardware['python']}, torch {hardware['torch']}"
