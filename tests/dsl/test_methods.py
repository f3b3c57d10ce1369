"""The same seed gives the same results inline, on local worker processes and on Slurm."""

from __future__ import annotations

import pytest

from slurm_search.dsl import run_experiment, show_experiment
from slurm_search.dsl._params import canonical

SWEEP = "slurm_search.dsl.demo:sweep"
BASE = {"sweep:seeds": 2, "sweep:threads": 2}


def _run(calls, **methods):
    calls.reset()
    result = run_experiment(SWEEP, {**BASE, **methods}, seed=21)
    return result, calls.count()


def test_cpu_workers_give_the_inline_results(calls):
    inline, n_inline = _run(calls)
    assert n_inline == 4 * 2
    # Enumeration on local worker processes, random sampling inline in them.
    outer_cpu, n_outer = _run(calls, **{"sweep:method": "cpu"})
    # Enumeration inline, random sampling on local worker processes.
    inner_cpu, n_inner = _run(calls, **{"sweep:inner_method": "cpu"})
    assert canonical(outer_cpu.results) == canonical(inline.results)
    assert canonical(inner_cpu.results) == canonical(inline.results)
    assert n_outer == n_inner == n_inline  # no trial ran twice
    assert len(show_experiment(outer_cpu.name)["sessions"]) == 1 + 4


@pytest.mark.slurm
def test_slurm_workers_give_the_inline_results(calls, slurm_cluster):
    inline, n_inline = _run(calls)
    on_slurm, n_slurm = _run(calls, **{"sweep:method": "slurm"})
    assert canonical(on_slurm.results) == canonical(inline.results)
    assert n_slurm == n_inline
