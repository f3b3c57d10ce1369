"""The state package's settings, and the one place it reads a variable of Slurm's.

The store's own settings (its root, the lock mode, the group-shared modes)
are locking's (`slurm_search.locking.settings`), since the lock folder needs
them too. ``SLURM_JOB_ID`` is Slurm's, not a setting: it is read here, and
only here in the packages below session (session's Slurm executor reads the
``SLURM_*`` variables of its own task in ``workers/_slurm_commands``).
"""

from __future__ import annotations

import os

__all__ = ["in_slurm_job"]

SLURM_JOB_VARIABLE = "SLURM_JOB_ID"


def in_slurm_job() -> bool:
    """Whether this process runs inside a Slurm job (``SLURM_JOB_ID`` is set)."""
    return SLURM_JOB_VARIABLE in os.environ
