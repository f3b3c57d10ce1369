"""Experiments on what hyperparameter tuning finds.

- ``hp_tuning_effects``: maximise the mean return over seeds with TPE, then
  evaluate the best and the worst setting on fresh seeds; report the
  trial-to-hyperparameter standard deviation ratio.
- ``hp_tuning_effects_rand``: the same with random search.
- ``tuning_config_effects``: from one large random sample, how the number of
  settings and of seeds per setting changes what a search finds
  (bootstrapped).
"""

from __future__ import annotations

from typing import Any

from slurm_search.dsl import Spec, maximizing_sampling, random_sampling, use

from ._bootstrap import search_curve, simulate_search, spaced_values
from ._checks import check_params
from ._display import (
    format_setting,
    history_plots,
    mean_std,
    plots_dir,
    print_noise,
    report_paths,
    run_title,
    setting_plots,
)
from ._exp_common import A2C_SPACE, RUN, RUN_DEBUG, RUN_SEED_SPACE, SLURM, seed_runs
from ._nodes import run_noise_ratio
from ._plots import plot_return_cdfs, plot_search_curves, plot_value_grid

__all__ = ["hp_tuning_effects_exp", "hp_tuning_effects_rand_exp", "tuning_config_effects_exp"]


def _tuning(strategy: str) -> dict[str, Any]:
    check_params()
    seeds = seed_runs("search:runs_per_setting")
    common = {"sample_count": "search:settings", "method": "search:method", "threads": "search:threads"}
    if strategy == "tpe":  # --search:pruner=asha stops bad settings early (run:report_every frames apart)
        common.update(pruner="search:pruner", pruner_options="search:pruner_options")
        tuning = maximizing_sampling("hp", seeds, maximize_measure="mean", **common)
    else:
        tuning = random_sampling("hp", seeds, **common)
    best, worst = tuning["argmax:mean"], tuning["argmin:mean"]
    # Fresh seeds: these sessions sit at other AST paths, so their seeds differ.
    best_eval = use("hp", best)[seed_runs("eval:runs", "search:method", "search:threads")]
    worst_eval = use("hp", worst)[seed_runs("eval:runs", "search:method", "search:threads")]
    return {
        "best_hp": best,
        "worst_hp": worst,
        "best_mean": best_eval["mean"],
        "best_std": best_eval["std"],
        "best_cdf": best_eval["cdf"],
        "worst_mean": worst_eval["mean"],
        "worst_std": worst_eval["std"],
        "worst_cdf": worst_eval["cdf"],
        "space_mean": tuning["mean:mean"],
        "space_std": tuning["std:mean"],
        "space_cdf": tuning["cdf:mean"],
        "setting_means": tuning["point_values:mean"],
        "setting_cdfs": tuning["point_values:cdf"],
        "noise": run_noise_ratio(tuning["point_values:cdf"]),
    }


def hp_tuning_effects() -> dict[str, Any]:
    """Tune with TPE, then evaluate the best and the worst setting on fresh seeds."""
    return _tuning("tpe")


def hp_tuning_effects_rand() -> dict[str, Any]:
    """Tune with random search, then evaluate the best and the worst setting on fresh seeds."""
    return _tuning("rand")


def display_hp_tuning_effects(session_name: str, params: dict, results: dict) -> list:
    """Print the summary and draw the plots into ``<home>/exp/<name>/plots``."""
    print(f"{params['agent']} on {params['env']}, {params['run']['train_frames']} training frames per run")
    for label in ("best", "worst"):
        print(
            f"{label:5s} setting {format_setting(results[f'{label}_hp'])}: "
            f"mean return {mean_std(results[f'{label}_cdf'])} on fresh seeds"
        )
    print(f"all settings: mean return over seeds {mean_std(results['space_cdf'])}")
    pruned = _pruned_settings(session_name)
    if pruned:
        print(f"settings pruned early (not in the results): {pruned[0]} of {pruned[1]}")
    noise = results["noise"]
    print(f"trial std / hyperparameter std: {noise['trial_std']:.4g} / {noise['hp_std']:.4g} = {noise['ratio']:.3g}")
    paths = setting_plots(
        plots_dir(session_name),
        results["setting_cdfs"],
        label=run_title(params),
        best=results["best_hp"],
        extra_cdfs={
            "best setting, fresh seeds": results["best_cdf"],
            "worst setting, fresh seeds": results["worst_cdf"],
        },
        space=params.get("hp_space"),
    )
    return report_paths(paths + history_plots(session_name))


# Steps are training frames (run:report_every apart); ASHA's rungs at 10k, 30k
# and 90k frames of the 100k a run trains. Scale them with --run:train_frames.
PRUNER_OPTIONS = {
    "asha": {"min_resource": 10_000, "reduction_factor": 3, "max_resource": 100_000},
    "median": {"n_startup_trials": 5, "n_warmup_steps": 20_000},
}


def _pruned_settings(run_name: str) -> tuple[int, int] | None:
    """(settings pruned, settings) of the run's tuning session, if it pruned any."""
    from slurm_search import session, state

    for name in state.read(run_name).get("sessions", {}).values():
        progress = session.progress(name)
        if progress.pruned and session.info(name).metadata.get("var") == "hp":
            return progress.pruned, progress.max_evals
    return None


def _tuning_config(search: dict, eval_runs: int) -> dict[str, Any]:
    return {
        "agent": "classic:a2c",
        "env": "classic:CartPole-v1",
        "hp_space": dict(A2C_SPACE),
        "run_seed_space": RUN_SEED_SPACE,
        "run": {**RUN, "report_every": 5_000},
        "search": {"pruner": "none", "pruner_options": PRUNER_OPTIONS, **search},
        "eval": {"runs": eval_runs},
        "slurm": dict(SLURM),
    }


_TUNING_DEBUG = {
    "agent": "debug",
    "search": {"method": "inline", "settings": 6, "runs_per_setting": 3},
    "eval": {"runs": 4},
    "run": RUN_DEBUG,
}

hp_tuning_effects_exp = Spec(
    config=_tuning_config({"settings": 96, "runs_per_setting": 12, "method": "slurm", "threads": 8}, 24),
    experiment_func=hp_tuning_effects,
    debug_overrides=_TUNING_DEBUG,
    display_func=display_hp_tuning_effects,
    ref="hp_tuning_effects",
)

hp_tuning_effects_rand_exp = Spec(
    config=_tuning_config({"settings": 96, "runs_per_setting": 12, "method": "slurm", "threads": 8}, 24),
    experiment_func=hp_tuning_effects_rand,
    debug_overrides=_TUNING_DEBUG,
    display_func=display_hp_tuning_effects,
    ref="hp_tuning_effects_rand",
)


def tuning_config_effects() -> dict[str, Any]:
    """One large random sample of settings × seeds, analysed by bootstrapping."""
    check_params()
    sample = random_sampling(
        "hp",
        seed_runs("search:runs_per_setting"),
        sample_count="search:settings",
        method="search:method",
        threads="search:threads",
    )
    return {
        "setting_cdfs": sample["point_values:cdf"],
        "setting_means": sample["point_values:mean"],
        "noise": run_noise_ratio(sample["point_values:cdf"]),
    }


def display_tuning_config_effects(session_name: str, params: dict, results: dict) -> list:
    """Bootstrap searches of every (settings, runs per setting) budget from the sample."""
    setting_cdfs = results["setting_cdfs"]
    runs = [list(map(float, values)) for _, values in setting_cdfs]
    trials = int(params["analysis"]["bootstrap_trials"])
    setting_counts = spaced_values(len(runs), points=8)
    run_counts = spaced_values(max(len(r) for r in runs), points=8)
    grid = []
    found: dict[str, list[float]] = {}
    for s_index, settings in enumerate(setting_counts):
        for r_index, per_setting in enumerate(run_counts):
            picked = simulate_search(runs, settings, per_setting, trials, seed=1000 * s_index + r_index)
            grid.append(({"settings sampled": settings, "runs per setting": per_setting}, sum(picked) / len(picked)))
            if s_index in (0, len(setting_counts) - 1) and r_index in (0, len(run_counts) - 1):
                found[f"{settings} settings × {per_setting} runs"] = picked
    print_noise(setting_cdfs)
    best = max(grid, key=lambda point: point[1])
    print(
        f"best budget shape: {best[0]['settings sampled']} settings × {best[0]['runs per setting']} runs "
        f"-> true mean return of the setting found {best[1]:.4g} (over {trials} bootstrapped searches)"
    )
    name = run_title(params)
    folder = plots_dir(session_name)
    paths = [
        plot_value_grid(
            grid,
            ("settings sampled", "runs per setting"),
            folder / "budget_grid.png",
            title=f"True mean return of the setting a search finds\n{name}",
            zlabel="Mean over bootstrapped searches",
        ),
        plot_return_cdfs(
            found,
            folder / "found_setting_cdfs.png",
            title=f"Distribution of the setting found, by budget\n{name}",
            ylabel="True mean return of the setting found",
        ),
    ]
    curves = {
        f"{r} runs per setting": search_curve(runs, len(runs), r, trials=trials, seed=r)
        for r in sorted({run_counts[0], run_counts[len(run_counts) // 2], run_counts[-1]})
    }
    paths.append(
        plot_search_curves(
            curves, folder / "random_search_curves.png", title=f"Simulated random search by runs per setting\n{name}"
        )
    )
    paths += setting_plots(folder / "sample", setting_cdfs, label=name, space=params.get("hp_space"))
    return report_paths(paths + history_plots(session_name))


tuning_config_effects_exp = Spec(
    config={
        "agent": "classic:a2c",
        "env": "classic:CartPole-v1",
        "hp_space": dict(A2C_SPACE),
        "run_seed_space": RUN_SEED_SPACE,
        "run": {**RUN, "train_frames": 75_000},
        "search": {"settings": 112, "runs_per_setting": 32, "method": "slurm", "threads": 16},
        "analysis": {"bootstrap_trials": 256},
        "slurm": dict(SLURM),
    },
    experiment_func=tuning_config_effects,
    debug_overrides={
        "agent": "debug",
        "search": {"method": "inline", "settings": 8, "runs_per_setting": 4},
        "analysis": {"bootstrap_trials": 50},
        "run": RUN_DEBUG,
    },
    display_func=display_tuning_config_effects,
    ref="tuning_config_effects",
)
