"""slurm_search.dsl: the experiment language and ``run_exp``.

An experiment is a small expression of nodes: ``@accepts_param_names``
functions, ``use(param, value)[expr]``, and sampling nodes
(``random_sampling``, ``enumeration_sampling``, ``minimizing_sampling``,
``maximizing_sampling``) that evaluate their inner expression through search
sessions of ``slurm_search.session``, inline or on local or Slurm workers.
Measures (``node["argmax:mean"]``) select from sampling results. A run is
stored as ``exp:NAME``: every sampling node's session is keyed by its AST
path, so a killed run resumes where it stopped and gives the same results.

Importing this package imports neither hyperopt nor torch. It defers
hyperopt's optimisers (`slurm_search.session.defer_optimisers`) before
anything imports hyperopt, so that the hyperopt an experiment's module
imports comes without the optimisers no session runs yet (ATPE, TPE).
"""

from __future__ import annotations

from slurm_search.session import defer_optimisers

defer_optimisers()

from ._checkpoints import checkpoint_folder, load_checkpoint, save_checkpoint, should_stop, suspend
from ._display import ast_abstract, ast_dot, ast_text, render_graph
from ._errors import (
    BadValue,
    DslError,
    ExperimentStopped,
    MeasureError,
    NoSuchRun,
    ResumeMismatch,
    SamplingError,
    SpecError,
    UnknownExperiment,
    UnknownParameter,
    UnusedParameter,
)
from ._experiment import resume_command, run_dir
from ._measures import MEASURES, SamplingResults, measurements, select
from ._nodes import (
    Node,
    accepts_param_names,
    enumeration_sampling,
    maximizing_sampling,
    minimizing_sampling,
    random_sampling,
    use,
)
from ._param_helpers import (
    flattened_params,
    mapped_params,
    params_equal,
    params_str,
    unflattened_params,
    unwrapped_settings,
    updated_params,
)
from ._params import parse_value
from ._reports import report, reporting
from ._run import RunResult, prepare, run_experiment, show_experiment, stop_experiment
from ._runtime import current_run, param, params
from ._settings import GOALS, check_goal
from ._spec import ENTRY_POINT_GROUP, Spec, load_spec, registered


def main(argv: list[str] | None = None) -> None:
    """The ``run_exp`` command (its console script): run it with ``argv`` (default: ``sys.argv[1:]``)."""
    # Imported here: the click commands are not part of the library's import.
    from ._cli import main as cli_main

    cli_main(argv)


__all__ = [
    "ENTRY_POINT_GROUP",
    "GOALS",
    "MEASURES",
    "BadValue",
    "UnusedParameter",
    "DslError",
    "ExperimentStopped",
    "MeasureError",
    "Node",
    "NoSuchRun",
    "ResumeMismatch",
    "RunResult",
    "SamplingError",
    "SamplingResults",
    "Spec",
    "SpecError",
    "UnknownExperiment",
    "UnknownParameter",
    "accepts_param_names",
    "ast_abstract",
    "ast_dot",
    "ast_text",
    "check_goal",
    "checkpoint_folder",
    "current_run",
    "enumeration_sampling",
    "flattened_params",
    "load_spec",
    "mapped_params",
    "maximizing_sampling",
    "load_checkpoint",
    "main",
    "measurements",
    "minimizing_sampling",
    "param",
    "params",
    "params_equal",
    "params_str",
    "parse_value",
    "prepare",
    "random_sampling",
    "registered",
    "render_graph",
    "report",
    "reporting",
    "resume_command",
    "run_dir",
    "run_experiment",
    "save_checkpoint",
    "select",
    "should_stop",
    "show_experiment",
    "stop_experiment",
    "suspend",
    "unflattened_params",
    "unwrapped_settings",
    "updated_params",
    "use",
]
