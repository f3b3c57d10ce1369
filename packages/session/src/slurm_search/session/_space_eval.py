"""Turning a claimed trial into the objective's parameters on any worker.

A space may hold functions that a module defines when it is imported (a
hyperopt ``@scope.define def bounded(...)`` in an experiment's module). The
process that created the session had imported that module; a worker process
(``ssearch work_on``, a Slurm task) has not, and ``space_eval`` there would
raise ``KeyError: 'bounded'``. So a session may list, in its metadata under
``space_modules``, the modules to import before its space is evaluated.

Whatever still goes wrong while evaluating a claimed trial's space is that
trial's failure, with its traceback, like an exception of the objective: the
worker records it and goes on (before, the worker died holding the claim and
the trial came back three times as a lost lease).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Mapping
from typing import Any, NamedTuple

__all__ = ["SPACE_MODULES", "SpaceEvalFailure", "import_space_modules"]

logger = logging.getLogger(__name__)

#: The metadata key listing the modules to import before evaluating the space.
SPACE_MODULES = "space_modules"

_imported: set[str] = set()
_failed: dict[str, ImportError] = {}


class SpaceEvalFailure(NamedTuple):
    """Stands in for the parameters of a trial whose space did not evaluate.

    Attributes:
        traceback: the error's traceback, recorded as the trial's failure.
    """

    traceback: str


def import_space_modules(metadata: Mapping[str, Any] | None) -> None:
    """Import the modules a session's metadata lists under ``space_modules``
    (each once per process).

    Raises:
        ImportError: a module does not import here (with its name).
    """
    for module in (metadata or {}).get(SPACE_MODULES) or ():
        if module in _failed:  # tried once: a listing asks for every trial's parameters
            raise _failed[module]
        if module not in _imported:
            try:
                importlib.import_module(module)
            except ImportError as err:
                _failed[module] = err
                raise
            _imported.add(module)
            logger.debug("imported %s for the session's space", module)
