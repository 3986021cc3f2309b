"""Output shared by the benchmarks: an aligned table, the final JSON line and the median of runs."""

from __future__ import annotations

import json
import statistics
from collections.abc import Mapping, Sequence

__all__ = ["Figure", "format_table", "headline_line", "median_of"]

Figure = float | int | str | bool | None


def median_of(runs: Sequence[float]) -> float:
    """Median of the measured runs; ValueError when there are none."""
    if not runs:
        raise ValueError("median_of needs at least one run")
    return float(statistics.median(runs))


def format_table(rows: Sequence[Sequence[object]]) -> str:
    """Rows (the first is the header) as aligned text: text left-aligned, numbers right-aligned."""
    cells = [[_cell(value) for value in row] for row in rows]
    widths = [max(len(row[i]) for row in cells if i < len(row)) for i in range(max(map(len, cells), default=0))]
    lines = []
    for row_index, (raw, row) in enumerate(zip(rows, cells, strict=True)):
        parts = []
        for i, text in enumerate(row):
            numeric = row_index > 0 and isinstance(raw[i], int | float) and not isinstance(raw[i], bool)
            parts.append(text.rjust(widths[i]) if numeric else text.ljust(widths[i]))
        lines.append("  ".join(parts).rstrip())
        if row_index == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines)


def headline_line(figures: Mapping[str, Figure]) -> str:
    """The final line of a benchmark's output: one JSON object of headline figures."""
    return json.dumps(dict(figures), separators=(", ", ": "))


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return "-" if value is None else str(value)
