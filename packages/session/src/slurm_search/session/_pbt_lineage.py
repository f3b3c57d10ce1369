"""A PBT session's lineage, for people and for replay: schedules, exploits, a plot.

`pbt_schedule(name, tid)` is a member's hyperparameter schedule, ((step,
params), ...): the parameters in effect from each step on, its donors'
before it took their checkpoints. Training one fresh member that follows it
from scratch replays what PBT found (as Ray Tune's PBT replay does).
`pbt_exploits` lists every exploit; `pbt_plot` draws each member's schedule
over the steps (matplotlib, imported only when it is called). Read from the
log alone; the user's code is needed only where the space calls it (then
the values are shown by label, as listings do).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from slurm_search import state as store

from ._errors import InvalidSetting, UnknownTrial
from ._labels import resolve
from ._names import session_name
from ._trial_table import flatten, schedule_params, vals_params
from ._view import View, view

__all__ = ["PLOT_NAME", "pbt_exploits", "pbt_plot", "pbt_schedule", "schedule_text"]

logger = logging.getLogger(__name__)

PLOT_NAME = "pbt_schedules.png"


def schedule_text(entries: list[tuple[int, Any]]) -> str:
    """A schedule in one line: `0: h=0.52 | 20: h=0.43` (nested keys joined with `:`)."""
    parts = []
    for step, params in entries:
        flat = flatten(params)
        shown = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v!r}" for k, v in flat.items())
        parts.append(f"{step}: {shown}")
    return " | ".join(parts)


def _pbt_view(name: str) -> View:
    v = view(resolve(name))
    st = v.refresh()
    if st.spec.algo != "pbt":
        raise InvalidSetting("session", v.name, "a session created with algo pbt")
    return v


def pbt_schedule(name: str, tid: int | None = None) -> list[tuple[int, Any]]:
    """A PBT member's schedule: [(step, params), ...], the parameters in effect from each step on.

    Args:
        name: the session (or an experiment's sub-session label).
        tid: the member; None: the best finished one (lowest loss).

    Returns:
        The schedule, first entry at step 0: replay it by training one fresh
        member with these parameters, switching at each step.

    Raises:
        UnknownSession: no such session.
        InvalidSetting: the session is not a PBT session.
        UnknownTrial: no such member, or (tid None) no member finished yet.
    """
    v = _pbt_view(name)
    with v.mutex:
        st = v.refresh()
        if tid is None:
            done = [t for t in st.trials.values() if t.status == "ok" and t.result is not None]
            if not done:
                raise UnknownTrial(v.name, "finished yet")
            tid = min(done, key=lambda t: (float((t.result or {})["loss"]), t.tid)).tid
        if tid not in st.trials:
            raise UnknownTrial(v.name, tid)
        return schedule_params(v, tid)


def pbt_exploits(name: str) -> list[dict[str, Any]]:
    """Every exploit of a PBT session, in log order: member, donor, steps, checkpoints, old and new parameters."""
    v = _pbt_view(name)
    with v.mutex:
        st = v.refresh()
        exploits = list(st.pbt.exploits) if st.pbt is not None else []
        return [
            {
                "tid": e.tid,
                "step": e.step,
                "donor": e.donor,
                "donor_seq": e.donor_seq,
                "donor_step": e.donor_step,
                "seq": e.seq,
                "old": vals_params(v, e.old_vals),
                "new": vals_params(v, e.new_vals),
                "time": e.time,
            }
            for e in exploits
        ]


def pbt_plot(name: str, path: str | Path | None = None) -> Path:
    """Draw each member's schedule over the steps: one panel per numeric hyperparameter.

    Args:
        name: the session.
        path: the PNG to write; default `<session folder>/plots/pbt_schedules.png`.

    Returns:
        The path written.

    Raises:
        ImportError: matplotlib is not installed (the message says how to install it).
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as err:
        raise ImportError("pbt_plot needs matplotlib: pip install matplotlib") from err

    v = _pbt_view(name)
    with v.mutex:
        st = v.refresh()
        spec = st.spec
        curves = {tid: schedule_params(v, tid) for tid in sorted(st.trials)}
        ends = {tid: max(_last_step(st, tid), curves[tid][-1][0]) for tid in curves}
    end = max(ends.values(), default=0) or (spec.pbt or {}).get("max_steps") or 1
    labels: list[str] = []
    for entries in curves.values():
        for _, params in entries:
            for k, value in flatten(params).items():
                if isinstance(value, (int, float)) and not isinstance(value, bool) and k not in labels:
                    labels.append(k)
    fig, axes = plt.subplots(max(len(labels), 1), 1, figsize=(7, 2.6 * max(len(labels), 1)), squeeze=False)
    for ax, label in zip(axes[:, 0], labels, strict=False):
        for tid, entries in curves.items():
            xs, ys = [], []
            for i, (step, params) in enumerate(entries):
                value = flatten(params).get(label)
                stop = entries[i + 1][0] if i + 1 < len(entries) else ends[tid] or end
                xs += [step, stop]
                ys += [value, value]
            ax.plot(xs, ys, drawstyle="steps-post", label=f"member {tid}")
        ax.set_ylabel(label)
        ax.set_xlabel("step")
    axes[0, 0].set_title(f"{v.name}: PBT schedules")
    if labels:
        axes[0, 0].legend(fontsize="small", ncol=2)
    if path is None:
        folder = store.paths(session_name(v.name)).dir / "plots"
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = folder / PLOT_NAME
    path = Path(path)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def _last_step(st: Any, tid: int) -> int:
    from ._pruners import trial_values

    values = trial_values(st, tid)
    return max(values) if values else 0
