"""An experiment module that defines a hyperopt scope function at import (as
the original's experiment files did with ``@scope.define def bounded``)
runs on fresh worker processes: each sampling session names the module
among its ``space_modules``, and the worker imports it before it evaluates a
space."""

from __future__ import annotations

import importlib
import uuid

import pytest

from slurm_search import session
from slurm_search.dsl import run_experiment
from slurm_search.dsl._spec import spec_modules

MODULE = '''
from hyperopt import hp
from hyperopt.pyll import scope

from slurm_search.dsl import accepts_param_names, random_sampling

if not hasattr(scope, "{fn}"):
    @scope.define
    def {fn}(val, minimum=None, maximum=None):
        return min(max(val, minimum), maximum)


@accepts_param_names
def value(x):
    return float(x)


def experiment():
    """Sample x from a bounded space on local worker processes."""
    sample = random_sampling("x", value("x"), sample_count=4, method="sampling:method", threads=1)
    return {{"cdf": sample["cdf"], "session": sample["session_name"]}}


spec = {{
    "config": {{"x_space": scope.{fn}(hp.normal("x", 0.5, 1.0), minimum=0.4, maximum=0.6),
                "sampling": {{"method": "cpu"}}}},
    "experiment_func": experiment,
}}
'''


@pytest.fixture
def experiment_module(tmp_path, monkeypatch):
    tag = uuid.uuid4().hex[:8]
    name = f"bounded_exp_{tag}"
    (tmp_path / f"{name}.py").write_text(MODULE.format(fn=f"bounded_{tag}"))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    monkeypatch.setenv("SLURM_SEARCH_WORKER_START", "spawn")  # fresh processes, as on Slurm
    importlib.import_module(name)
    return name


def test_spec_modules_name_the_experiment_module(experiment_module):
    assert spec_modules(f"{experiment_module}:spec") == [experiment_module]


def test_fresh_cpu_workers_evaluate_a_space_with_a_module_scope_function(experiment_module):
    result = run_experiment(f"{experiment_module}:spec", {}, seed=3)
    cdf = result.results["cdf"]
    assert len(cdf) == 4 and all(0.4 <= x <= 0.6 for x in cdf)
    info = session.info(result.results["session"])
    assert experiment_module in info.metadata["space_modules"]
    inline = run_experiment(f"{experiment_module}:spec", {"sampling:method": "inline"}, seed=3)
    assert inline.results["cdf"] == cdf
