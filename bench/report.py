"""`rag bench` results as a terminal report and as docs/benchmarks.md."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial

from bench.summary import TARGETS

Row = list[str]
HEADLINE_HEADER = ["figure", "ours", "baseline", "ratio", "target", ""]
PHASE_LABELS = {
    "embed": "query embedding",
    "dense": "dense search (FAISS)",
    "bm25": "BM25",
    "fusion": "fusion",
    "search": "retrieval (sum of the above)",
    "answer": "answer",
    "answer_read": "of which: the learned reader",
    "total": "total",
}
LEVER_LABELS = {
    "st_default": "sentence-transformers `encode`, torch default threads (baseline)",
    "st_1thread": "sentence-transformers `encode`, `torch.set_num_threads(1)`",
    "torch_forward": "transformer forward under `torch.inference_mode`, 1 thread",
    "onnx": "ONNX Runtime, 1 thread per call (kept: the default on CPU)",
}


def _n(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "–"
    return f"{value:,.{digits}f}"


def _met(value: bool | None) -> str:
    return {True: "met", False: "NOT met", None: "–"}[value]


def headline_rows(results: dict) -> list[Row]:
    """Ours, the baseline, their ratio, the target and whether it is met."""
    return _query_rows(results["summary"]) + _serving_rows(results["summary"])


def _targets() -> dict[str, str]:
    symbol = {"<=": "≤", ">=": "≥"}
    return {t.key: f"{symbol[t.direction]} {t.threshold:g}" for t in TARGETS}


def _query_rows(s: dict) -> list[Row]:
    met, target, size = s["targets"], _targets(), f"{_n(s['query_chunks'], 0)} chunks"
    return [
        ["query p50, cold, " + size, _n(s["query_p50_ms"]) + " ms", "–", "–",
         target["query_p50_ms"] + " ms", _met(met["query_p50_ms"])],
        ["query p50, warm, " + size, _n(s["query_warm_p50_ms"]) + " ms", "–", "–",
         target["query_warm_p50_ms"] + " ms", _met(met["query_warm_p50_ms"])],
        ["retrieval p50 (no answer), cold, " + size, _n(s["search_p50_ms"]) + " ms",
         _n(s["baseline_query_p50_ms"]) + " ms", _n(s["speedup_search_vs_baseline"]) + "×",
         "≥ 3× baseline", _met(met["speedup_search_vs_baseline"])],
        ["retrieval p50 vs baseline with 1 torch thread", _n(s["search_p50_ms"]) + " ms",
         _n(s["baseline_1thread_query_p50_ms"]) + " ms", _n(s["speedup_search_vs_baseline_1thread"]) + "×",
         "(reference)", ""],
        [f"indexing chunks/s ({s['index_corpus']})", _n(s["index_chunks_per_s"]),
         _n(s["baseline_index_chunks_per_s"]), _n(s["index_speedup_vs_baseline"], 2) + "×",
         target["index_chunks_per_s"], _met(met["index_chunks_per_s"])],
    ]  # fmt: skip


def _serving_rows(s: dict) -> list[Row]:
    met, target = s["targets"], _targets()
    return [
        ["HTTP p50, " + f"{_n(s['http_chunks'], 0)} chunks", _n(s["http_p50_ms"]) + " ms", "–", "–",
         target["http_p50_ms"] + " ms", _met(met["http_p50_ms"])],
        ["HTTP answered requests/s", _n(s["http_rps"]), "–", "–", target["http_rps"], _met(met["http_rps"])],
        ["HTTP errors", _n(s["http_errors"], 0), "–", "–", "0", _met(met["http_errors"])],
        ["HTTP p50 / requests/s, FAISS on every core (`OMP_NUM_THREADS=nproc`)",
         f"{_n(s['http_omp_all_p50_ms'])} ms / {_n(s['http_omp_all_rps'])}", "–", "–", "(lever off)", ""],
        ["HTTP p50 / requests/s, no answer cache (`RAG_ANSWER_CACHE=0`)",
         f"{_n(s['http_no_answer_cache_p50_ms'])} ms / {_n(s['http_no_answer_cache_rps'])}", "–", "–",
         "(lever off)", ""],
        ["cold start, `rag ask`", _n(s["cold_start_s"], 2) + " s", "–", "–",
         target["cold_start_s"] + " s", _met(met["cold_start_s"])],
        [f"server RSS, {_n(s['memory_chunks'], 0)} chunks", _n(s["memory_rss_mb"], 0) + " MiB", "–", "–",
         "≤ 1024 MiB", _met(met["memory_rss_mb"])],
        ["HNSW recall@10 vs exact", _n(s["hnsw_recall_at_10"], 3), "–", "–",
         target["hnsw_recall_at_10"], _met(met["hnsw_recall_at_10"])],
    ]  # fmt: skip


def phase_rows(results: dict, pass_name: str) -> list[Row]:
    """p50 / p95 / p99 of each step at each store size, ours then the baseline's."""
    sizes = list(results["query"])
    rows = []
    for phase, label in PHASE_LABELS.items():
        cells = [_pct(results["query"][size][pass_name][phase]) for size in sizes]
        rows.append([label, *cells])
    for phase in ("embed", "dense", "bm25", "fusion", "total"):
        cells = [_pct(results["query"][size]["baseline"][phase]) for size in sizes]
        rows.append([f"baseline: {phase}", *cells])
    for phase in ("embed", "total"):
        cells = [_pct(results["query"][size]["baseline_1thread"][phase]) for size in sizes]
        rows.append([f"baseline, 1 torch thread: {phase}", *cells])
    return rows


def _pct(values: dict) -> str:
    return f"{values['p50']:.2f} / {values['p95']:.2f} / {values['p99']:.2f}"


def indexing_rows(results: dict) -> list[Row]:
    """One row per indexed corpus, then the baseline's encode-and-fit rate."""
    rows = []
    for name, figures in results["indexing"].items():
        if "skipped" in figures:
            rows.append([name, figures["skipped"], "", "", "", "", ""])
            continue
        rows.append([
            name, f"{figures['documents']} docs, {figures['chunks']:,} chunks "
            f"(~{figures['tokens_per_chunk']:.0f} tokens each)", _n(figures["seconds"]) + " s",
            _n(figures["chunks_per_s"]), _n(figures["tokens_per_s"], 0),
            _n(figures["embed_seconds"]) + " s", _n(figures["reindex_unchanged_s"], 2) + " s",
        ])  # fmt: skip
    base = results["baseline_indexing"]
    rows.append(["baseline (encode + BM25Okapi fit only)", f"{base['chunks']} chunks",
                 _n(base["seconds"]) + " s", _n(base["chunks_per_s"]), "–", "–", "–"])  # fmt: skip
    return rows


def scale_rows(results: dict) -> list[Row]:
    """Build, size, memory, search latency and recall at the scale size."""
    scale, memory = results["scale"], results["memory"]
    rows = [
        ["chunks", f"{scale['chunks']:,} ({scale['dense_kind']})"],
        ["build: dense / BM25 / save", f"{scale['dense_build_s']:.1f} s / {scale['bm25_build_s']:.1f} s / "
         f"{scale['save_s']:.1f} s"],
        ["index on disk", f"{scale['disk_mb']:,.0f} MiB"],
        ["server RSS after answering", f"{memory['rss_mb']:,.0f} MiB ({memory['questions']} questions)"],
        ["server start to first answer", f"{memory['first_answer_s']:.1f} s"],
        ["dense search p50 / p99", f"{scale['search_ms']['p50']:.2f} / {scale['search_ms']['p99']:.2f} ms"],
        ["exact (flat) search p50 / p99",
         f"{scale['exact_search_ms']['p50']:.2f} / {scale['exact_search_ms']['p99']:.2f} ms"],
        ["recall@10 vs exact", f"{scale['recall_at_10']:.4f}"],
    ]  # fmt: skip
    for ef, figures in scale["ef_search_sweep"].items():
        rows.append(
            [f"  efSearch {ef}", f"recall@10 {figures['recall_at_10']:.4f}, p50 {figures['p50_ms']:.2f} ms"]
        )
    return rows


def lever_rows(results: dict) -> list[Row]:
    """Query-encoder variants: latency and agreement with the reference."""
    levers = results["levers"]["query_encoder"]
    return [
        [LEVER_LABELS.get(name, name), f"{v['p50']:.2f}", f"{v['p95']:.2f}", f"{v['min_cosine']:.6f}"]
        for name, v in levers.items()
    ]


def render_text(results: dict) -> str:
    """The terminal report; a section that failed is named in place of its figures."""
    machine = results["machine"]
    lines = [
        f"rag bench{' --quick' if results['config']['quick'] else ''}: {machine['nproc']} cores, "
        f"{machine['memory_gib']} GiB, load {machine['load_average_start'][0]:.1f} at start, "
        f"{machine['load_average_end'][0]:.1f} at end; {results['seconds']:.0f} s",
        "",
        _or_note(results, lambda: _text_table(HEADLINE_HEADER, headline_rows(results))),
        _or_note(results, lambda: _quick_caveat(results)),
        "query latency, cold (ms p50 / p95 / p99)",
        _or_note(results, lambda: _text_table(["step", *results["query"]], phase_rows(results, "cold"))),
        "",
        "query latency, warm (same questions again)",
        _or_note(results, lambda: _text_table(["step", *results["query"]],
                                              phase_rows(results, "warm")[: len(PHASE_LABELS)])),
        *_failures_text(results),
    ]  # fmt: skip
    return "\n".join(lines)


def _or_note(results: dict, build: Callable[[], str]) -> str:
    """A section's text, or a note naming the failed sections when its figures are missing."""
    try:
        return build()
    except (KeyError, TypeError, IndexError, ValueError, ZeroDivisionError):
        if not results.get("failed"):
            raise  # a complete run renders in full: a missing figure there is a bug
        return "Not measured: " + "; ".join(
            f"{name} failed ({why})" for name, why in results["failed"].items()
        )


def _failures_text(results: dict) -> list[str]:
    failed = results.get("failed") or {}
    return ["", "failed sections:", *(f"  {name}: {why}" for name, why in failed.items())] if failed else []


def _quick_caveat(results: dict) -> str:
    """A --quick run's stores repeat few chunks many times: say which figures that skews."""
    if not results["config"]["quick"]:
        return ""
    indexed = results["indexing"].get("squad", {}).get("chunks") or results["indexing"]["corpus"]["chunks"]
    copies = results["scale"]["chunks"] / max(1, indexed)
    return (
        f"\n(--quick: the {results['scale']['chunks']:,}-chunk store repeats each of {indexed} chunks "
        f"~{copies:.0f} times, so HNSW recall and the cold figures are not representative; "
        "run `rag bench` for the real ones)\n"
    )


def _text_table(header: Row, rows: list[Row]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join(
        "  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) for r in [header, *rows]
    )


def _md_table(header: Row, rows: list[Row]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def render_markdown(results: dict, command: str) -> str:
    """docs/benchmarks.md: the machine, the command, every table, and how to read them."""
    from bench.notes import notes_markdown

    sizes = list(results["query"])
    note = partial(_or_note, results)
    sections = [
        "# Benchmarks",
        f"Written by `{command}` on {time.strftime('%Y-%m-%d')} ({results['seconds']:.0f} s). "
        "Run `make bench` (or the command above) to measure again; `rag bench --json` prints the "
        "same figures as one JSON object.",
        "## Machine\n\n" + _machine_markdown(results),
        "## Headline figures\n\n" + note(lambda: _md_table(HEADLINE_HEADER, headline_rows(results))),
        "## Indexing throughput\n\n" + note(lambda: _md_table(
            ["corpus", "size", "time", "chunks/s", "tokens/s", "of which embedding", "unchanged re-index"],
            indexing_rows(results))),
        "## Query latency, in-process (ms, p50 / p95 / p99)\n\nCold: every question new to the "
        "process. Warm: the same questions again (query vectors and passage parsing cached).\n\n"
        + note(lambda: _md_table(["cold", *sizes], phase_rows(results, "cold")) + "\n\n"
               + _md_table(["warm", *sizes], phase_rows(results, "warm")[: len(PHASE_LABELS)])),
        "## Over HTTP\n\n" + note(lambda: _http_markdown(results)),
        "## Store scale\n\n" + note(lambda: _md_table(["", ""], scale_rows(results))),
        "## Query encoder levers (ms per single question)\n\n"
        + note(lambda: _md_table(["encoder", "p50", "p95", "lowest cosine to the reference"],
                                 lever_rows(results))),
        note(lambda: notes_markdown(results)),
    ]  # fmt: skip
    return "\n\n".join(sections) + "\n"


def _machine_markdown(results: dict) -> str:
    machine = results["machine"]
    packages = ", ".join(f"{k} {v}" for k, v in machine["packages"].items() if v)
    return (
        f"- `nproc`: {machine['nproc']}; memory {machine['memory_gib']} GiB; load average "
        f"{machine['load_average_start'][0]:.2f} at the start, "
        f"{machine['load_average_end'][0]:.2f} at the end (other processes shared the machine)\n"
        f"- Python {machine['python']} on {machine['platform']}\n- {packages}\n\n"
        "```text\n$ lscpu | head\n" + "\n".join(machine["lscpu_head"]) + "\n```"
    )


def _http_markdown(results: dict) -> str:
    http, every, cold = results["http"], results["http_omp_all"], results["cold_start"]
    uncached = results["http_no_answer_cache"]
    runs = ", ".join(f"{s:.2f}" for s in cold["cli_ask_s"])
    return (
        f"`rag serve` on 127.0.0.1 over {http['chunks']:,} chunks, {http['clients']} async httpx "
        f"clients for {http['seconds']:.1f} s, cycling through {http['question_pool']} questions that "
        f"were each asked once before the clock started: {http['requests']:,} requests, "
        f"**{http['rps']:.1f} answered/s**, {http['errors']} errors, latency p50 / p95 / p99 "
        f"{http['p50_ms']:.1f} / {http['p95_ms']:.1f} / {http['p99_ms']:.1f} ms; server RSS "
        f"{http['rss_mb']:.0f} MiB. CPU per request: {http['server_cpu_ms_per_request']:.1f} ms in the "
        f"server, {http['client_cpu_ms_per_request']:.1f} ms in the load generator, which runs on the "
        f"same 2 cores. Every counted request repeats a question, so the server answers it from its "
        f"answer cache (`RAG_ANSWER_CACHE`); the first pass over the questions (each new to the "
        f"server, not counted) had p50 {http['first_pass']['p50']:.0f} ms. With the answer cache off "
        f"(`RAG_ANSWER_CACHE=0`: query vectors still cached, the answer worked out again "
        f"each time): {uncached['rps']:.1f} answered/s, {uncached['errors']} errors, p50 / p95 / p99 "
        f"{uncached['p50_ms']:.1f} / {uncached['p95_ms']:.1f} / {uncached['p99_ms']:.1f} ms, "
        f"{uncached['server_cpu_ms_per_request']:.1f} ms of server CPU per request. The same run against a "
        f"server whose FAISS searches use every core (`OMP_NUM_THREADS` = the core count; `rag serve` "
        f"uses one thread unless told otherwise): {every['rps']:.1f} answered/s, {every['errors']} "
        f"errors, p50 / p95 / p99 {every['p50_ms']:.1f} / {every['p95_ms']:.1f} / "
        f"{every['p99_ms']:.1f} ms.\n\n"
        f"Cold start (bundled corpus, index built, OS file cache warm): `rag ask` process start to exit "
        f"{runs} s; `rag serve` start to the first answered `/ask` {cold['serve_first_answer_s']:.2f} s "
        f"({results['memory']['first_answer_s']:.1f} s at {results['memory']['chunks']:,} chunks)."
    )
