"""Benchmarks of classic control, and tuning against them.

- ``gen_benchmark``: for each of A2C, PPO, vanilla SARSA and DQN, TPE over
  its own space (``<agent>_hp_space``) of the mean over seeds of the mean
  over environments of one training's mean test return; then its best
  setting on fresh seeds and environments. Every run's return, pooled per
  environment and sorted, is the benchmark: stored as ``benchmark:<run
  name>`` in the store (the original wrote ``~/benchmark_<run>.pkl``).
- ``multienv_benchmark_tuning`` (and ``multienv_<agent>_benchmark_tuning``):
  the same search, each return scored by its percentile among the
  benchmark's returns on that environment (``percentile_env_norm``), so
  environments of different scales weigh the same. ``--benchmark=NAME``
  picks the benchmark (default: the newest in the store).

The agent parameter, when set (the debug overrides set ``agent=debug``),
stands in for every agent of the list while each keeps its own space.
"""

from __future__ import annotations

import functools
import math
from typing import Any

from hyperopt import hp

from slurm_search.dsl import Spec, maximizing_sampling, param, random_sampling, use

from ._baselines import percentile_env_norm, write_benchmark
from ._checks import check_agent_space, check_params
from ._display import report_paths, short_name
from ._display_tools import display_cdfs
from ._exp_common import SLURM
from ._exp_display import fig_name, flattened_values, noise_line, setting_sample_plots, surface_plots
from ._nodes import return_mean
from .spaces import a2c_space, dqn_space, ppo_space, vsarsa_space

__all__ = [
    "BENCHMARK_AGENTS",
    "BENCHMARK_ENVS",
    "gen_benchmark_exp",
    "multienv_a2c_benchmark_tuning_exp",
    "multienv_benchmark_tuning_exp",
    "multienv_dqn_benchmark_tuning_exp",
    "multienv_ppo_benchmark_tuning_exp",
    "multienv_vsarsa_benchmark_tuning_exp",
]

BENCHMARK_AGENTS = ["classic:a2c", "classic:ppo", "classic:vsarsa", "classic:dqn"]
BENCHMARK_ENVS = ["classic:CartPole-v1", "classic:MountainCar-v0", "classic:Acrobot-v1"]


def _agent(agent: str) -> str:
    return param("agent") or agent


def _search(agent: str, value: Any) -> Any:
    """TPE over ``<agent>_hp_space``: seeds outside, environments inside."""
    return maximizing_sampling(
        ("hp", f"{agent.split(':')[1]}_hp_space"),
        random_sampling(
            "run_seed",
            random_sampling("env", value, sample_count="search:run_samples_per_setting_env", method="inline"),
            sample_count="search:env_samples_per_setting",
            method="inline",
        ),
        sample_count="search:setting_samples",
        maximize_measure="mean:mean",
        method="search:method",
        threads="search:threads",
    )


def _evaluation(agent: str, best: Any) -> Any:
    return use("hp", best)[
        random_sampling(
            "run_seed",
            random_sampling(
                "env",
                return_mean("env", _agent(agent), "hp", "run_params", "run_seed"),
                method="inline",
                sample_count="eval:run_samples_per_env",
            ),
            sample_count="eval:env_samples",
            method="eval:method",
            threads="eval:threads",
        )
    ]


def gen_benchmark() -> dict[str, Any]:
    """Tune A2C, PPO, vanilla SARSA and DQN on classic control; store every return per environment as a benchmark."""
    check_params()
    search, best_hp, best_samples = {}, {}, {}
    for agent in param("benchmark_agents"):
        check_agent_space(_agent(agent), f"{agent.split(':')[1]}_hp_space")
        search[agent] = _search(agent, return_mean("env", _agent(agent), "hp", "run_params", "run_seed"))
        best_hp[agent] = search[agent]["argmax:mean:mean"]
        best_samples[agent] = _evaluation(agent, best_hp[agent])
    return {"agent_search_samples": search, "best_hp": best_hp, "best_hp_samples": best_samples}


def _runs(search_results: Any) -> list[tuple[Any, str, float]]:
    """(setting, env, return) of every run of a search (setting -> seed -> env)."""
    return [
        (setting, str(env), float(value))
        for setting, seed_results in search_results["point_values"]
        for _, env_results in seed_results["point_values"]
        for env, value in env_results["point_values"]
    ]


def display_gen_benchmark(session_name: str, params: dict, results: dict) -> list:
    """Store the benchmark; print each environment's range; plot its distributions."""
    env_returns: dict[str, list[float]] = {}
    for agent_results in results["agent_search_samples"].values():
        for _, env, value in _runs(agent_results):
            env_returns.setdefault(env, []).append(value)
    env_cdfs = {env: sorted(values) for env, values in env_returns.items()}
    name = write_benchmark(session_name, env_cdfs)
    print(f"benchmark: {name} (use it with --benchmark={name.split(':', 1)[1]})")
    for env, cdf in sorted(env_cdfs.items()):
        print(f"[{env}] {min(cdf)} <= {sum(cdf) / len(cdf)} <= {max(cdf)}")
    for agent, best in results["best_hp"].items():
        values = flattened_values(results["best_hp_samples"][agent], 2)
        print(f"{agent}: best setting {best}, mean return on fresh seeds {sum(values) / len(values):.4g}")
    paths = display_cdfs(
        list(env_cdfs.values()),
        list(env_cdfs),
        ylabel="Mean test return",
        title=f"Benchmark returns per environment ({short_name(session_name)})",
        fig_name=fig_name(session_name, "benchmark_cdfs"),
    )
    return report_paths(paths)


def multienv_benchmark_tuning(agents: list[str]) -> dict[str, Any]:
    """Tune each agent across classic control, returns scored by their percentile in a stored benchmark."""
    check_params()
    search, best_hp, best_samples = {}, {}, {}
    for agent in agents:
        check_agent_space(_agent(agent), f"{agent.split(':')[1]}_hp_space")
        scored = percentile_env_norm(
            "env", return_mean("env", _agent(agent), "hp", "run_params", "run_seed"), "benchmark"
        )
        search[agent] = _search(agent, scored)
        best_hp[agent] = search[agent]["argmax:mean:mean"]
        best_samples[agent] = _evaluation(agent, best_hp[agent])
    return {
        "agent_search_samples": search,
        "best_hp": best_hp,
        "best_hp_samples": best_samples,
        "space_hp_returns_mean": {agent: s["point_values:mean:mean"] for agent, s in search.items()},
        "space_hp_returns_cdf": {agent: s["point_values:cdf:mean"] for agent, s in search.items()},
        "space_returns_mean": {agent: s["mean:mean:mean"] for agent, s in search.items()},
        "space_returns_std": {agent: s["std:mean:mean"] for agent, s in search.items()},
        "space_returns_cdf": {agent: s["cdf:mean:mean"] for agent, s in search.items()},
    }


def display_multienv_benchmark_tuning(session_name: str, params: dict, results: dict) -> list:
    """Per agent: setting surfaces, best setting against the space, noise
    ratio, every run per hyperparameter. (The original's display read
    results its experiment did not return; this draws what it meant to.)"""
    paths = []
    for agent, search_results in results["agent_search_samples"].items():
        tag = agent.split(":")[-1]
        paths += surface_plots(
            session_name,
            results["space_hp_returns_mean"][agent],
            results["space_hp_returns_cdf"][agent],
            prefix=f"{tag}_",
            zlabel="Benchmark percentile",
        )
        best = flattened_values(results["best_hp_samples"][agent], 2)
        best_mean = sum(best) / len(best)
        best_std = math.sqrt(sum((v - best_mean) ** 2 for v in best) / len(best))
        print(f"{agent}: best setting {results['best_hp'][agent]}")
        print(f"{agent} performance for trial best (raw return): {best_mean} +/- {best_std}")
        print(
            f"{agent} performance for entire space (benchmark percentile): "
            f"{results['space_returns_mean'][agent]} +/- {results['space_returns_std'][agent]}"
        )
        paths += display_cdfs(
            [results["space_returns_cdf"][agent]],
            ["space"],
            ylabel="Mean benchmark percentile",
            title=f"Benchmark percentile of {tag}'s settings ({short_name(session_name)})",
            fig_name=fig_name(session_name, f"{tag}_setting_cdfs"),
        )
        noise_line(session_name, results["space_hp_returns_cdf"][agent], label=agent)
        points = [(setting, value) for setting, _, value in _runs(search_results)]
        names = sorted({name for setting, _ in points for name in setting})
        paths += setting_sample_plots(session_name, points, names, best=results["best_hp"][agent], prefix=f"{tag}_")
    return report_paths(paths)


def _config(frames: int, with_benchmark: bool) -> dict[str, Any]:
    config = {
        "benchmark_agents": list(BENCHMARK_AGENTS),
        "env_space": hp.choice("env", BENCHMARK_ENVS),
        "a2c_hp_space": a2c_space(),
        "ppo_hp_space": ppo_space(),
        "vsarsa_hp_space": vsarsa_space(),
        "dqn_hp_space": dqn_space(),
        "run_seed_space": hp.quniform("run_seed", 0, 2**31, 1),
        "run_params": {"train_frames": frames, "train_episodes": math.inf, "test_episodes": 200},
        "search": {
            "method": "slurm",
            "threads": 10,
            "setting_samples": 16,
            "env_samples_per_setting": 8,
            "run_samples_per_setting_env": 1,
        },
        "eval": {"method": "slurm", "threads": 10, "env_samples": 64, "run_samples_per_env": 1},
        "slurm": dict(SLURM),
    }
    if with_benchmark:
        config["benchmark"] = ""  # the newest benchmark in the store
    return config


DEBUG = {
    "search": {"method": "inline", "setting_samples": 3, "env_samples_per_setting": 2},
    "eval": {"method": "inline", "env_samples": 6},
    "agent": "debug",
    "run_params": {"train_frames": 1000, "test_episodes": 5},
}

gen_benchmark_exp = Spec(
    config=_config(300_000, with_benchmark=False),
    experiment_func=gen_benchmark,
    debug_overrides=DEBUG,
    display_func=display_gen_benchmark,
    ref="gen_benchmark",
    description=(gen_benchmark.__doc__ or "").strip(),
)


def _tuning_spec(name: str, agents: list[str], what: str) -> Spec:
    return Spec(
        config=_config(300_000, with_benchmark=True),
        experiment_func=functools.partial(multienv_benchmark_tuning, agents),
        debug_overrides=DEBUG,
        display_func=display_multienv_benchmark_tuning,
        ref=name,
        description=(
            f"Tune {what} across classic control, returns scored by their percentile in a stored gen_benchmark."
        ),
    )


multienv_benchmark_tuning_exp = _tuning_spec(
    "multienv_benchmark_tuning", BENCHMARK_AGENTS, "A2C, PPO, vanilla SARSA and DQN"
)
multienv_a2c_benchmark_tuning_exp = _tuning_spec("multienv_a2c_benchmark_tuning", ["classic:a2c"], "A2C")
multienv_ppo_benchmark_tuning_exp = _tuning_spec("multienv_ppo_benchmark_tuning", ["classic:ppo"], "PPO")
multienv_vsarsa_benchmark_tuning_exp = _tuning_spec(
    "multienv_vsarsa_benchmark_tuning", ["classic:vsarsa"], "vanilla SARSA"
)
multienv_dqn_benchmark_tuning_exp = _tuning_spec("multienv_dqn_benchmark_tuning", ["classic:dqn"], "DQN")
