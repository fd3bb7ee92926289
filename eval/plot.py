"""A risk-coverage plot as a small standalone SVG (no plotting library needed)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from xml.sax.saxutils import escape

from index.errors import InputError

WIDTH, HEIGHT, MARGIN = 520, 340, 56
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e")

Curve = Sequence[tuple[float, float, float]]  # (confidence, coverage, risk) points


def risk_coverage_svg(curves: dict[str, Curve], title: str = "risk-coverage") -> str:
    """Lines of risk (share of answers wrong) against coverage (share of questions answered)."""
    top = max([0.1, *(risk for curve in curves.values() for _, _, risk in curve)])
    top = min(1.0, round(top + 0.05, 1))

    def x(coverage: float) -> float:
        return MARGIN + coverage * (WIDTH - 2 * MARGIN)

    def y(risk: float) -> float:
        return HEIGHT - MARGIN - risk / top * (HEIGHT - 2 * MARGIN)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'font-family="sans-serif" font-size="12">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
        f'<text x="{WIDTH / 2}" y="20" text-anchor="middle" font-size="14">{escape(title)}</text>',
        f'<line x1="{MARGIN}" y1="{y(0)}" x2="{x(1)}" y2="{y(0)}" stroke="black"/>',
        f'<line x1="{MARGIN}" y1="{y(0)}" x2="{MARGIN}" y2="{y(top)}" stroke="black"/>',
        f'<text x="{WIDTH / 2}" y="{HEIGHT - 14}" text-anchor="middle">'
        "coverage (share of questions answered)</text>",
        f'<text x="16" y="{HEIGHT / 2}" text-anchor="middle" transform="rotate(-90 16 {HEIGHT / 2})">'
        "risk (share of answers wrong)</text>",
    ]
    for tick in range(6):
        value = tick / 5
        parts.append(f'<text x="{x(value)}" y="{y(0) + 16}" text-anchor="middle">{value:.1f}</text>')
        risk = top * tick / 5
        parts.append(f'<text x="{MARGIN - 6}" y="{y(risk) + 4}" text-anchor="end">{risk:.2f}</text>')
        parts.append(f'<line x1="{MARGIN}" y1="{y(risk)}" x2="{x(1)}" y2="{y(risk)}" stroke="#eee"/>')
    for i, (label, curve) in enumerate(curves.items()):
        colour = COLOURS[i % len(COLOURS)]
        points = " ".join(f"{x(coverage):.1f},{y(risk):.1f}" for _, coverage, risk in curve)
        parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>')
        parts.append(f'<text x="{MARGIN + 10}" y="{40 + 16 * i}" fill="{colour}">{escape(label)}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def write_plot(path: Path, curves: dict[str, Curve], title: str = "risk-coverage") -> None:
    """Write the SVG; InputError when the file cannot be written."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(risk_coverage_svg(curves, title), encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write the plot to {path}: {exc}") from exc
