"""``pbt_cartpole``: population-based training of A2C (or PPO) on CartPole,
against random search and ASHA at the same training frames (issue 24).

- **PBT**: a ``maximizing_sampling`` node with ``algo="pbt"``: ``search:population``
  members, each one ``run_results`` training that reports its mean training
  return and checkpoints every ``search:interval`` frames; a member in the
  bottom quantile takes a top member's checkpoint (``_resume``: same agent,
  environment and budget) and trains on with perturbed hyperparameters.
- **Random search**: ``search:population`` settings, each trained for the
  same frames: the same budget.
- **ASHA**: TPE with the ASHA pruner (rungs from ``search:interval`` frames,
  reduction factor 3) over ``search:asha_settings`` settings: pruned
  settings stop early, so it tries more for about the same frames (the
  display counts the frames each method trained, from the reports).
- Each method's best on fresh seeds (``eval_seed_space``, the same seeds
  for all three): random search's and ASHA's best setting trained anew;
  PBT's best member's schedule replayed from scratch (``schedule_results``).

The members all train from seed ``train_seed`` (a PBT member's seed is the
one it starts with; exploits carry the donor's random states), as do the
settings of the other two methods.
"""

from __future__ import annotations

import math
from typing import Any

from slurm_search.dsl import (
    BadValue,
    Spec,
    accepts_param_names,
    enumeration_sampling,
    maximizing_sampling,
    param,
    random_sampling,
    use,
)

from ._checks import check_params
from ._display import mean_std, plots_dir, report_paths, run_title
from ._exp_common import A2C_SPACE, SLURM
from ._nodes import experiment_run_params, return_mean
from ._run import schedule_results

__all__ = ["pbt_cartpole_exp", "schedule_return_mean"]


@accepts_param_names
def schedule_return_mean(env: Any, agent: Any, pbt_session: Any, run_params: Any, run_seed: Any) -> float:
    """The mean test return of one fresh run along the best member's schedule of a PBT session."""
    from slurm_search import session

    schedule = [(step, _hp_of(params)) for step, params in session.pbt_schedule(pbt_session)]
    return schedule_results(env, agent, schedule, experiment_run_params(run_params), run_seed)["return_mean"]


def _hp_of(params: Any) -> dict[str, Any]:
    # A sampling node's trials hold the sampled variable's value under "value".
    if isinstance(params, dict) and set(params) == {"value"} and isinstance(params["value"], dict):
        return dict(params["value"])
    return dict(params)


def _settings() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(run params of the searches, PBT options, ASHA options), checked."""
    run = dict(param("run"))
    search = param("search")
    frames, interval = run.get("train_frames"), search.get("interval")
    if not isinstance(frames, int) or frames <= 0:
        raise BadValue("--run:train_frames", frames, "a whole number of frames (PBT's budget per member)")
    # ALL's parallel agents count frames in steps of n_envs (4 for A2C, 8 for PPO on classic control):
    # a checkpoint falls exactly on a multiple of the interval only if it is a multiple of 8.
    if not isinstance(interval, int) or interval <= 0 or interval % 8 or frames % interval or interval >= frames:
        raise BadValue(
            "--search:interval", interval, f"a multiple of 8 frames that divides --run:train_frames ({frames})"
        )
    run.update(report_every=interval, checkpoint_every=interval, train_episodes=math.inf)
    pbt = {"interval": interval, "max_steps": frames, **dict(search.get("pbt") or {})}
    asha = {"min_resource": interval, "reduction_factor": 3, "max_resource": frames}
    return run, pbt, asha


def pbt_cartpole() -> dict[str, Any]:
    """PBT against random search and ASHA at equal frames: the best of each on fresh seeds."""
    check_params()
    run, pbt_options, asha_options = _settings()
    common = {"method": "search:method", "threads": "search:threads"}
    member = return_mean("env", "agent", "hp", run, "train_seed")
    pbt = maximizing_sampling(
        "hp", member, sample_count="search:population", algo="pbt", pbt_options=pbt_options, **common
    )
    rand = random_sampling("hp", member, sample_count="search:population", **common)
    asha = maximizing_sampling(
        "hp", member, sample_count="search:asha_settings", pruner="asha", pruner_options=asha_options, **common
    )
    # Fresh seeds, the same for the three: the best setting (or schedule) trained anew.
    evaluation = {k: v for k, v in run.items() if k not in ("report_every", "checkpoint_every")}
    fresh = return_mean("env", "agent", "hp", evaluation, "eval_seed")
    replay = schedule_return_mean("env", "agent", "pbt_session", evaluation, "eval_seed")
    return {
        "pbt_session": pbt["session_name"],
        "rand_session": rand["session_name"],
        "asha_session": asha["session_name"],
        "rand_best_hp": rand["argmax"],
        "asha_best_hp": asha["argmax"],
        "pbt_fresh": use("pbt_session", pbt["session_name"])[enumeration_sampling("eval_seed", replay, **common)][
            "cdf"
        ],
        "rand_fresh": use("hp", rand["argmax"])[enumeration_sampling("eval_seed", fresh, **common)]["cdf"],
        "asha_fresh": use("hp", asha["argmax"])[enumeration_sampling("eval_seed", fresh, **common)]["cdf"],
    }


def _frames(name: str, pbt: bool) -> int:
    """Frames a search trained, from its reports: each trial's last reported
    frame (a pruned one stopped there); for PBT, each exploit also adds the
    frames its member trains again (a donor's checkpoint behind the member's
    step) or takes off those it skips (a donor ahead, whose frames the donor
    trained and counted)."""
    from slurm_search import session

    total = sum(max(curve) for curve in session.trial_reports(name).values() if curve)
    if pbt:
        total += sum(e["step"] - e["donor_step"] for e in session.pbt_exploits(name))
    return total


def display_pbt_cartpole(session_name: str, params: dict, results: dict) -> list:
    """Print each method's frames and best return on fresh seeds; plot PBT's schedules and the returns."""
    from slurm_search import session

    from ._plots import plot_return_cdfs

    print(f"{run_title(params)}; {len(params['eval_seed_space'])} fresh seeds")
    rows = (("PBT", "pbt"), ("random search", "rand"), ("ASHA", "asha"))
    for label, key in rows:
        name = results[f"{key}_session"]
        trials = session.trial_rows(name)
        ends = [t.end for t in trials if t.end is not None]
        wall = max(ends) - min(t.start for t in trials if t.start is not None) if ends else 0.0
        print(
            f"{label:13s} {len(trials):3d} trials, {_frames(name, key == 'pbt'):8d} frames, {wall:6.1f} s: "
            f"best on fresh seeds {mean_std(results[f'{key}_fresh'])}"
        )
    exploits = session.pbt_exploits(results["pbt_session"])
    print(f"PBT exploits: {len(exploits)}; best member's schedule:")
    for step, hp in session.pbt_schedule(results["pbt_session"]):
        print(f"  from frame {step}: {_hp_of(hp)}")
    folder = plots_dir(session_name)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [session.pbt_plot(results["pbt_session"], folder / "pbt_schedules.png")]
    paths.append(
        plot_return_cdfs(
            {label: results[f"{key}_fresh"] for label, key in rows},
            folder / "pbt_vs_rand_asha.png",
            title=f"best of each search on fresh seeds: {run_title(params)}",
        )
    )
    return report_paths(paths)


pbt_cartpole_exp = Spec(
    config={
        "agent": "classic:a2c",
        "env": "classic:CartPole-v1",
        "hp_space": dict(A2C_SPACE),
        "train_seed": 1,
        "eval_seed_space": [1001, 1002, 1003, 1004, 1005],
        "run": {"train_frames": 40_000, "train_episodes": math.inf, "test_episodes": 20, "device": "cpu"},
        "search": {
            "population": 8, "interval": 4_000, "asha_settings": 32, "pbt": {"quantile": 0.25},
            "method": "cpu", "threads": 2,
        },
        "slurm": dict(SLURM),
    },
    experiment_func=pbt_cartpole,
    debug_overrides={
        "run": {"train_frames": 6_000, "test_episodes": 5},
        "search": {"population": 4, "interval": 1_000, "asha_settings": 10},
        "eval_seed_space": [1001, 1002],
    },
    display_func=display_pbt_cartpole,
    ref="slurm_search.rl._exp_pbt:pbt_cartpole_exp",
    description="PBT of A2C on CartPole against random search and ASHA at equal frames, best on fresh seeds",
)
