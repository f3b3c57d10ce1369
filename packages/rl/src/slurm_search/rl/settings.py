"""The rl package's settings (declared through `slurm_search.locking.settings`).

=============================  =========================================================
``SLURM_SEARCH_RL_LOGDIR``     where RL runs write TensorBoard logs (default ``<home>/tmp/tensorboard``)
=============================  =========================================================
"""

from __future__ import annotations

from pathlib import Path

from slurm_search.locking.settings import as_path, declare

__all__ = ["RL_LOGDIR", "RL_LOGDIR_VARIABLE", "rl_logdir"]

RL_LOGDIR = declare(
    "SLURM_SEARCH_RL_LOGDIR",
    as_path,
    None,
    "where RL runs write TensorBoard logs (default <home>/tmp/tensorboard)",
    owner=__name__,
)
RL_LOGDIR_VARIABLE = RL_LOGDIR.name


def rl_logdir() -> Path | None:
    """``$SLURM_SEARCH_RL_LOGDIR`` as a path, or None when unset."""
    return RL_LOGDIR.get()
