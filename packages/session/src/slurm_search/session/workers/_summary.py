"""What ``ssearch show`` and ``ssearch list`` print, as pure functions of data.

`loss_stats` and `histogram` take plain lists of losses; `table` aligns rows.
The I/O (reading the session) is in the CLI.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any


def loss_stats(losses: Sequence[float]) -> dict[str, float] | None:
    """min, quartiles (q1, median, q3), max, mean and count of the losses; None if none."""
    values = sorted(float(loss) for loss in losses)
    if not values:
        return None

    def quantile(q: float) -> float:
        # Linear interpolation between closest ranks (numpy's default).
        pos = q * (len(values) - 1)
        low = math.floor(pos)
        high = min(low + 1, len(values) - 1)
        return values[low] + (values[high] - values[low]) * (pos - low)

    return {
        "count": len(values),
        "min": values[0],
        "q1": quantile(0.25),
        "median": quantile(0.5),
        "q3": quantile(0.75),
        "max": values[-1],
        "mean": sum(values) / len(values),
    }


def histogram(losses: Sequence[float], bins: int = 10, width: int = 40) -> list[str]:
    """A text histogram of the losses: one line per bin, ``[low, high) count ####``."""
    values = [float(loss) for loss in losses]
    if not values:
        return []
    low, high = min(values), max(values)
    if high == low:
        return [f"{low:>11.4g}            {len(values):>5} {'#' * width}"]
    step = (high - low) / bins
    counts = [0] * bins
    for value in values:
        counts[min(int((value - low) / step), bins - 1)] += 1
    peak = max(counts)
    lines = []
    for i, count in enumerate(counts):
        start = low + i * step
        bar = "#" * round(width * count / peak) if count else ""
        lines.append(f"{start:>11.4g} {start + step:>11.4g} {count:>5} {bar}")
    return lines


def size_text(size: int) -> str:
    """A byte count for people: 980 B, 12.3 kB, 4.5 MB, 1.2 GB."""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"


def best_text(goal: str, value: float | None) -> str:
    """``-1.037 (max)``, ``0.0024 (min)``, or ``-`` (nothing optimised, or no result yet)."""
    if value is None:
        return "-"
    shown = f"{value:.6g}" if math.isfinite(value) else str(value)
    return f"{shown} ({goal})"


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Rows aligned under a header; numbers right-aligned, text left-aligned."""
    cells = [[str(cell) for cell in header]] + [["" if cell is None else _cell(cell) for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    numeric = [all(isinstance(row[i], (int, float)) or row[i] is None for row in rows) for i in range(len(header))]
    lines = []
    for row in cells:
        parts = [cell.rjust(w) if num else cell.ljust(w) for cell, w, num in zip(row, widths, numeric)]
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


LOCAL = "(local)"


def node_of(worker: str | None) -> str:
    """The host part of a worker id (``host:pid``, ``host:slurm-JOB_TASK``); local ids have none."""
    if not worker:
        return "?"
    host, sep, _ = worker.partition(":")
    return host if sep else LOCAL


def by_node(trials: Sequence[tuple[str | None, str]]) -> list[dict[str, Any]]:
    """Trials grouped by the node of their worker, from (owner, status) pairs.

    Returns:
        One row per node, sorted: node, workers (distinct owners), and the
        count of ok, failed and running trials.
    """
    rows: dict[str, dict[str, Any]] = {}
    owners: dict[str, set[str]] = {}
    for owner, status in trials:
        node = node_of(owner)
        row = rows.setdefault(node, {"node": node, "workers": 0, "ok": 0, "failed": 0, "running": 0})
        owners.setdefault(node, set()).add(owner or "?")
        if status in ("ok", "failed", "running"):
            row[status] += 1
    for node, row in rows.items():
        row["workers"] = len(owners[node])
    return [rows[node] for node in sorted(rows)]


def listing(
    rows: Sequence[dict[str, Any]], labels: dict[str, tuple[str, str]], fold: bool
) -> tuple[list[dict[str, Any]], int]:
    """The rows of ``ssearch list``: newest first, each with its ``experiment``
    label (``exp:NAME/best_xy/argmax:mean``, or None); with ``fold``, only the
    outermost listed sessions of each experiment.

    Args:
        rows: sessions as dicts with ``name`` and ``created`` (seconds).
        labels: session name -> (label, owner) of sessions an experiment owns.
        fold: keep only each owner's outermost sessions.

    Returns:
        The rows, and how many sub-sessions folding left out.
    """
    out = []
    for row in rows:
        label, owner = labels.get(row["name"], (None, None))
        out.append({**row, "experiment": label, "_owner": owner, "_depth": label.count("/") if label else 0})
    folded = 0
    if fold:
        outermost: dict[str, int] = {}
        for row in out:
            if row["_owner"] is not None:
                outermost[row["_owner"]] = min(outermost.get(row["_owner"], row["_depth"]), row["_depth"])
        kept = [row for row in out if row["_owner"] is None or row["_depth"] == outermost[row["_owner"]]]
        folded = len(out) - len(kept)
        out = kept
    out.sort(key=lambda row: row.get("created") or 0, reverse=True)
    for row in out:
        del row["_owner"], row["_depth"]
    return out, folded


def shown_status(status: str, running: int | None) -> str:
    """A session's status for people: ``idle`` when it would run but no trial
    is claimed (no worker at work: its sbatch failed, or its workers ended)."""
    return "idle" if status == "running" and not running else status
