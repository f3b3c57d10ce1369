"""Every use of optuna's private names and unpromised behaviour, in one place.

What slurm-search relies on that optuna does not promise (each checked
against the oldest and the newest optuna our pins allow by
tests/session/test_private_names.py, through `PRIVATE_NAMES`):

* ``optuna.study._frozen.FrozenStudy``: what a `BaseStorage` returns from
  ``get_all_studies`` (the dashboard's `SessionStorage` builds them), and
  its ``_study_id`` (`frozen_study_id`).
* ``Study._storage`` and ``Study._study_id``: the study's storage and id, to
  set its system attrs before a suggestion (`storage_of`).
* ``Study.add_trial`` deep-copies the trial it stores (`owned` lets a trial
  made for the study skip the copy: most of a TPE suggestion's time).
* The system-attr key prefixes under which ``TPESampler`` and ``GPSampler``
  share a running trial's relative params (``tpe:relative_params`` and
  ``gp:relative_params``, their modules' ``_RELATIVE_PARAMS_KEY``; optuna
  4.0's samplers share none, and then the prefixes match nothing):
  `DERIVED_TRIAL_ATTRS`.

Importing this module does not import optuna.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DERIVED_TRIAL_ATTRS", "PRIVATE_NAMES", "frozen_study", "frozen_study_id", "owned", "storage_of"]

# GPSampler and TPESampler share a running trial's params with the other processes through these system attrs.
DERIVED_TRIAL_ATTRS = ("gp:relative_params:", "tpe:relative_params:")

# (module, attribute path) of every private name above, for the test over optuna's versions.
PRIVATE_NAMES = (
    ("optuna.study._frozen", "FrozenStudy"),
)
# Instance attributes of a `Study` (checked on a study made for the purpose).
STUDY_ATTRIBUTES = ("_storage", "_study_id")


def frozen_study(**fields: Any) -> Any:
    """An ``optuna.study._frozen.FrozenStudy`` of `fields`."""
    from optuna.study._frozen import FrozenStudy

    return FrozenStudy(**fields)


def frozen_study_id(study: Any) -> int:
    """The id of a ``FrozenStudy`` (its ``_study_id``)."""
    return study._study_id


def storage_of(study: Any) -> tuple[Any, int]:
    """(storage, study id) of an ``optuna.Study``."""
    return study._storage, study._study_id


def owned(trial: Any) -> Any:
    """`trial`, which the study may keep without a copy: it was made for it, and nothing else holds it.

    `Study.add_trial` deep-copies every trial it stores; in a study rebuilt
    for each suggestion, that was most of a TPE suggestion's time (TPE on
    Branin, one worker, 400 trials: 6.2 s of suggestions, 3.5 s without it).
    """
    cls = type(trial)
    if cls not in _OWNED:
        _OWNED[cls] = type(f"Owned{cls.__name__}", (cls,), {"__deepcopy__": lambda self, memo: self})
    trial.__class__ = _OWNED[cls]
    return trial


_OWNED: dict[type, type] = {}
