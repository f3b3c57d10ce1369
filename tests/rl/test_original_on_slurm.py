"""gen_benchmark and multienv_a2c_benchmark_tuning on the real local Slurm
cluster. Their spaces call ``scope.bounded``, a hyperopt function that
``slurm_search.rl.spaces`` defines when it is imported: a Slurm task is a
fresh process, so it evaluates them only because it imports the
experiment's modules first (before, it died after claiming with
``KeyError: 'bounded'`` and the trial came back as lost leases)."""

from __future__ import annotations

import pytest

from slurm_search import dsl, rl, session

ON_SLURM = {"search:method": "slurm", "search:threads": 2, "eval:method": "inline"}


@pytest.mark.slurm
def test_gen_benchmark_then_tuning_against_it_on_slurm(slurm_cluster):
    made = dsl.run_experiment("gen_benchmark", ON_SLURM, debug=True, seed=7)
    dsl.load_spec("gen_benchmark").display_func(made.name, {}, made.results)
    for agent, search in made.results["agent_search_samples"].items():
        info = session.info(search["session_name"])
        assert "slurm_search.rl._exp_benchmark" in info.metadata["space_modules"]
        progress = session.progress(search["session_name"])
        assert progress.status == "done" and progress.failed == 0, agent
        for setting, _ in search["point_values"]:
            if "n_envs" in setting:
                assert 2 <= setting["n_envs"] <= 32  # bounded on the Slurm task
    inline = dsl.run_experiment("gen_benchmark", {"search:method": "inline"}, debug=True, seed=7)
    assert [s for s, _ in made.results["agent_search_samples"]["classic:a2c"]["point_values"]] == [
        s for s, _ in inline.results["agent_search_samples"]["classic:a2c"]["point_values"]
    ]

    tuned = dsl.run_experiment("multienv_a2c_benchmark_tuning", {**ON_SLURM, "benchmark": made.name}, debug=True, seed=7)
    scores = [value for _, value in tuned.results["space_hp_returns_mean"]["classic:a2c"]]
    assert len(scores) == 3 and all(0 <= v <= 1 for v in scores)
    assert rl.benchmark_names() == [f"benchmark:{made.name.split(':')[1]}"]
