"""slurm_search.session: hyperopt search sessions on the slurm-search store.

A session (`search:NAME`) is an append-only log of events in the store:
workers claim trials (with a lease they renew), evaluate an objective and
record results; a killed worker's trial is claimed again when its lease runs
out. Every trial is a hyperopt trial document. See the package README.

This package is the core: sessions, claims, leases, results and the worker
loop. Running workers (inline, local processes, Slurm arrays) and the
``ssearch`` command are the layer above it, `slurm_search.session.workers`.

Importing this package is cheap: hyperopt is imported only to build a space
or suggest a trial, and its ATPE and TPE modules only when they are used
(see _hyperopt_private.py).
"""


from ._hyperopt_private import defer_optimisers

defer_optimisers()

from ._claims import Trial, default_worker_id, next_trial, record_failure, record_result, renew_lease
from ._commands import annotate, compact_session, delete_trial, enable, restart, salvage_session, stop
from ._create import ALGOS, create_session, delete_session
from ._create_checks import MAX_TRIALS
from ._current import CurrentTrial, current_trial
from ._enqueue import enqueue
from ._errors import (
    CheckpointError,
    CorruptSession,
    Exploited,
    InvalidObjective,
    InvalidReport,
    InvalidResult,
    InvalidSessionName,
    InvalidSetting,
    InvalidSpace,
    LeaseLost,
    NoMoreTrials,
    NotInTrial,
    Pruned,
    SessionError,
    SessionExists,
    SlurmSearchError,
    Suspended,
    UnknownLabel,
    UnknownSession,
    UnknownTrial,
    UnsupportedFormat,
)
from ._flat import flatten_params
from ._folders import use_folder
from ._format import FORMAT_VERSION
from ._goals import GOALS
from ._goals import value_of as goal_value
from ._labels import Labelled, labelled
from ._labels import resolve as resolve_label
from ._leaving import leave_grace, request_leave, reset_leave, should_stop, suspend
from ._model import keep_claiming
from ._multi import pareto_front
from ._names import session_name
from ._pbt import PBT_DEFAULTS, check_pbt_options
from ._pbt_lineage import pbt_exploits, pbt_plot, pbt_schedule
from ._pbt_lineage import schedule_text as pbt_schedule_text
from ._pruners import PRUNERS, check_pruner, should_prune
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
    trial_owners,
    worst,
)
from ._reports import current_reports, report, trial_reports
from ._trial_checkpoints import (
    CheckpointStats,
    checkpoint_folder,
    checkpoint_stats,
    load_checkpoint,
    save_checkpoint,
)
from ._trial_table import TrialRow, dataframe, trial_rows
from ._values import InvalidValue, format_value, parse_value
from ._words import random_phrase
from ._worker import WorkReport, work_on

__all__ = [
    "ALGOS",
    "GOALS",
    "MAX_TRIALS",
    "PRUNERS",
    "CheckpointError",
    "CheckpointStats",
    "Suspended",
    "Exploited",
    "PBT_DEFAULTS",
    "check_pbt_options",
    "pbt_exploits",
    "pbt_plot",
    "pbt_schedule",
    "pbt_schedule_text",
    "checkpoint_folder",
    "checkpoint_stats",
    "leave_grace",
    "load_checkpoint",
    "request_leave",
    "reset_leave",
    "save_checkpoint",
    "should_stop",
    "suspend",
    "CorruptSession",
    "FORMAT_VERSION",
    "UnsupportedFormat",
    "salvage_session",
    "CurrentTrial",
    "InvalidObjective",
    "InvalidReport",
    "InvalidResult",
    "InvalidSessionName",
    "InvalidSetting",
    "InvalidSpace",
    "InvalidValue",
    "Labelled",
    "LeaseLost",
    "NoMoreTrials",
    "NotInTrial",
    "Progress",
    "Pruned",
    "SessionError",
    "SessionExists",
    "SlurmSearchError",
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
    "check_pruner",
    "compact_session",
    "context",
    "create_session",
    "current_reports",
    "current_trial",
    "dataframe",
    "default_worker_id",
    "goal_value",
    "defer_optimisers",
    "delete_session",
    "delete_trial",
    "enqueue",
    "pareto_front",
    "enable",
    "flatten_params",
    "format_value",
    "info",
    "keep_claiming",
    "labelled",
    "resolve_label",
    "use_folder",
    "list_sessions",
    "next_trial",
    "parse_value",
    "progress",
    "random_phrase",
    "record_failure",
    "record_result",
    "renew_lease",
    "report",
    "restart",
    "results",
    "session_name",
    "should_prune",
    "space",
    "stop",
    "trial_docs",
    "trial_owners",
    "trial_reports",
    "trial_rows",
    "work_on",
    "worst",
]

