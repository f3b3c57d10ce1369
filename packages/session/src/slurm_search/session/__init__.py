"""slurm_search.session: hyperopt search sessions on the slurm-search store.

A session (`search:NAME`) is an append-only log of events in the store:
workers claim trials (with a lease they renew), evaluate an objective and
record results; a killed worker's trial is claimed again when its lease runs
out. Every trial is a hyperopt trial document. See the package README.

Importing this package is cheap: hyperopt is imported only to build a space
or suggest a trial, and its ATPE and TPE modules only when they are used
(see _hyperopt_import.py).
"""

from __future__ import annotations

from ._hyperopt_import import defer_optimisers

defer_optimisers()

from ._claims import (
    Trial,
    annotate,
    compact_session,
    default_worker_id,
    delete_trial,
    enable,
    next_trial,
    record_failure,
    record_result,
    renew_lease,
    restart,
    stop,
)
from ._create import ALGOS, create_session, delete_session
from ._current import CurrentTrial, current_trial
from ._errors import (
    CorruptSession,
    InvalidObjective,
    InvalidResult,
    InvalidSessionName,
    InvalidSetting,
    InvalidSpace,
    LeaseLost,
    NoMoreTrials,
    SessionError,
    SessionExists,
    UnknownLabel,
    UnknownSession,
    UnknownTrial,
)
from ._model import keep_claiming
from ._names import session_name
from ._queries import (
    Progress,
    SessionInfo,
    SessionSummary,
    TrialResult,
    annotations,
    best,
    context,
    info,
    list_sessions,
    progress,
    results,
    space,
    trial_docs,
    worst,
)
from ._trial_table import TrialRow, dataframe, trial_rows
from ._worker import WorkReport, work_on

__all__ = [
    "ALGOS",
    "CorruptSession",
    "CurrentTrial",
    "InvalidObjective",
    "InvalidResult",
    "InvalidSessionName",
    "InvalidSetting",
    "InvalidSpace",
    "LeaseLost",
    "NoMoreTrials",
    "Progress",
    "SessionError",
    "SessionExists",
    "SessionInfo",
    "SessionSummary",
    "Trial",
    "TrialResult",
    "TrialRow",
    "UnknownLabel",
    "UnknownSession",
    "UnknownTrial",
    "WorkReport",
    "annotate",
    "annotations",
    "best",
    "compact_session",
    "context",
    "create_session",
    "current_trial",
    "dataframe",
    "default_worker_id",
    "delete_session",
    "delete_trial",
    "enable",
    "info",
    "keep_claiming",
    "list_sessions",
    "next_trial",
    "progress",
    "record_failure",
    "record_result",
    "renew_lease",
    "restart",
    "results",
    "session_name",
    "space",
    "stop",
    "trial_docs",
    "trial_rows",
    "work_on",
    "worst",
]


# The launchers (_launch, _local, _slurm, _registry) are the other half of
# this package; they are imported on first use, so `import
# slurm_search.session` stays cheap.
_LAZY = {
    "launch": "._launch",
    "Launched": "._launch",
    "session_types": "._registry",
    "LaunchError": "._launch_errors",
    "UnknownSlurmOption": "._launch_errors",
    "BadSlurmOption": "._launch_errors",
    "check_slurm_options": "._slurm_script",
    "SlurmNotFound": "._launch_errors",
    "SlurmCommandError": "._launch_errors",
    "SubmissionError": "._launch_errors",
    "WorkersFailed": "._launch_errors",
    "UnknownSessionType": "._launch_errors",
    "BadSessionParameters": "._launch_errors",
}

__all__ += sorted(_LAZY)


def __getattr__(attr: str):  # type: ignore[no-untyped-def]
    module = _LAZY.get(attr)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {attr!r}")
    import importlib

    value = getattr(importlib.import_module(module, __name__), attr)
    globals()[attr] = value
    return value
