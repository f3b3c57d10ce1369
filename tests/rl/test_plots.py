"""The plots, drawn from synthetic data: the files exist, are PNGs, and
matplotlib reads them back as images of the expected shape."""

from __future__ import annotations

import random

import pytest

from slurm_search import rl

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def check_png(path):
    from matplotlib import image

    assert path.exists()
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    pixels = image.imread(str(path))
    assert pixels.ndim == 3 and pixels.shape[0] > 100 and pixels.shape[1] > 100
    # A drawn plot, not a blank canvas.
    assert pixels.std() > 0.01


def synthetic_settings(count=12, runs=8, seed=0):
    rng = random.Random(seed)
    settings = []
    for index in range(count):
        mean = 100 + 10 * index
        settings.append([rng.gauss(mean, 15) for _ in range(runs)])
    return settings


def test_return_cdfs(tmp_path):
    path = rl.plot_return_cdfs({"best": [3, 1, 2], "worst": [0.5, 0.1], "empty": []}, tmp_path / "plots" / "cdf.png")
    check_png(path)


def test_setting_percentile_surface_and_contour(tmp_path):
    paths = rl.plot_setting_percentile_surface(synthetic_settings(), tmp_path / "surface.png")
    assert [p.name for p in paths] == ["surface.png", "surface_contour.png"]
    for path in paths:
        check_png(path)


def test_setting_percentile_surface_of_one_setting(tmp_path):
    for path in rl.plot_setting_percentile_surface([[1.0, 2.0, 3.0]], tmp_path / "one.png"):
        check_png(path)


def test_setting_samples_marks_the_best(tmp_path):
    rng = random.Random(1)
    lrs = [(10 ** rng.uniform(-4, -2), rng.gauss(100, 20)) for _ in range(30)]
    path = rl.plot_setting_samples({"lr": lrs}, tmp_path / "samples.png", xlabel="lr")
    check_png(path)
    path = rl.plot_setting_samples({"a": [(1, 2), (2, 3)], "b": [(1, 1)]}, tmp_path / "two.png", best={"a": (1, 2)})
    check_png(path)


def test_search_curves(tmp_path):
    settings = synthetic_settings()
    curves = {f"{runs} runs/setting": rl.search_curve(settings, 10, runs, trials=50, seed=runs) for runs in (1, 4)}
    check_png(rl.plot_search_curves(curves, tmp_path / "curves.png", reference={"best setting": 210.0}))


def test_value_grid(tmp_path):
    points = [({"settings": s, "runs": r}, s * r) for s in (1, 2, 4) for r in (1, 3)]
    check_png(rl.plot_value_grid(points, ("settings", "runs"), tmp_path / "grid.png"))


def test_simulated_search_is_seeded_and_improves_with_budget():
    settings = synthetic_settings(count=20, runs=10)
    assert rl.simulate_search(settings, 5, 3, 40, seed=3) == rl.simulate_search(settings, 5, 3, 40, seed=3)
    curve = rl.search_curve(settings, 16, 10, trials=300, seed=0)
    assert curve["x"][0] == 1 and curve["x"][-1] == 16
    assert all(low <= mean <= high for low, mean, high in zip(curve["low"], curve["mean"], curve["high"]))
    # Sampling 16 settings finds a better one than sampling 1, on average.
    assert curve["mean"][-1] > curve["mean"][0] + 30


def test_noise_ratio_by_hand():
    ratio = rl.noise_ratio([[0.0, 2.0], [10.0, 12.0]])
    assert ratio["trial_std"] == pytest.approx(1.0)
    assert ratio["hp_std"] == pytest.approx(5.0)
    assert ratio["ratio"] == pytest.approx(0.2)
    assert rl.noise_ratio([[1.0, 3.0], [1.0, 3.0]])["ratio"] == float("inf")
    with pytest.raises(ValueError):
        rl.noise_ratio([[]])


def test_spaced_values():
    assert rl.spaced_values(8, points=8, scale=1.0) == [1, 2, 3, 4, 5, 6, 7, 8]
    values = rl.spaced_values(100, points=8)
    assert values[0] == 1 and values[-1] == 125 and len(values) <= 10


# -- what researchers expect of the figures (asserted on the Figure objects) ---


def _legend_outside_axes(figure):
    """The legend overlaps neither the plot nor its colorbar (nor leaves the saved figure)."""
    figure.canvas.draw()
    legend = figure.axes[0].get_legend()
    assert legend is not None
    box = legend.get_window_extent()
    return not any(box.overlaps(axes.get_window_extent()) for axes in figure.axes)


def test_a_log_sampled_hyperparameter_gets_a_log_axis():
    import math

    from hyperopt import hp
    from hyperopt.pyll import scope

    from slurm_search.rl._exp_common import A2C_SPACE
    from slurm_search.rl._plots import draw_setting_samples
    from slurm_search.rl._scales import log_scaled

    assert log_scaled(A2C_SPACE) == {"lr"}
    space = {
        "lr": hp.loguniform("lr", math.log(1e-5), math.log(1e-1)),
        "n": scope.int(hp.qloguniform("n_steps", 0, 4, 1)),
        "sigma": hp.lognormal("sigma", 0, 1),
        "gamma": hp.uniform("gamma", 0.9, 0.999),
        "act": ["relu", "tanh"],
    }
    assert log_scaled(space) == {"lr", "n", "n_steps", "sigma"}
    # lr over two decades: six points, not five squeezed against the left edge.
    points = [(1e-4, 1.0), (2e-4, 2.0), (5e-4, 3.0), (1e-3, 2.5), (3e-3, 1.5), (1e-2, 0.5)]
    assert draw_setting_samples({"lr": points}, log_x=True).axes[0].get_xscale() == "log"
    # Sampled uniformly: linear, even though the values span a factor of 100.
    assert draw_setting_samples({"lr": points}, log_x=False).axes[0].get_xscale() == "linear"


def test_titles_name_agent_environment_and_frames():
    from slurm_search.rl._display import run_title

    params = {"agent": "classic:a2c", "env": "classic:CartPole-v1", "run": {"train_frames": 100_000}}
    assert run_title(params) == "classic:a2c on classic:CartPole-v1, 100,000 training frames"
    many = {"agent_space": ["classic:a2c", "classic:ppo"], "env": "classic:Acrobot-v1", "run": {"train_frames": 5000}}
    assert run_title(many) == "classic:a2c, classic:ppo on classic:Acrobot-v1, 5,000 training frames"


def test_legends_sit_outside_the_data():
    from slurm_search.rl._history_plot import draw_optimisation_history
    from slurm_search.rl._plots import (
        draw_return_cdfs,
        draw_search_curves,
        draw_setting_percentile_surface,
        draw_setting_samples,
        draw_value_grid,
    )

    rng = random.Random(2)
    samples = draw_setting_samples({"lr": [(rng.uniform(0, 1), rng.gauss(0, 1)) for _ in range(30)]})
    curves = {f"{r} runs": rl.search_curve(synthetic_settings(), 10, r, trials=30, seed=r) for r in (1, 4)}
    grid = draw_value_grid([({"settings": s, "runs": r}, s * r) for s in (1, 2, 4) for r in (1, 3)], ("settings", "runs"))
    _, contour = draw_setting_percentile_surface(synthetic_settings())
    figures = [samples, draw_search_curves(curves, reference={"best": 200.0}), draw_optimisation_history([(0, 1.0), (1, 2.0)]),
               draw_return_cdfs({"a": [1, 2, 3], "b": [2, 3]}), grid, contour]
    for figure in figures:
        assert _legend_outside_axes(figure)


def test_percentile_bands_are_light_with_their_edges_drawn():
    from matplotlib.collections import PolyCollection
    from matplotlib.colors import to_rgba

    from slurm_search.rl._plots import draw_search_curves

    curves = {f"{r} runs": rl.search_curve(synthetic_settings(), 10, r, trials=30, seed=r) for r in (1, 4)}
    axes = draw_search_curves(curves).axes[0]
    bands = [c for c in axes.collections if isinstance(c, PolyCollection)]
    assert len(bands) == 2 and all(band.get_alpha() <= 0.15 for band in bands)
    for index, curve in enumerate(curves.values()):
        colour = to_rgba(f"C{index}")
        edges = [line for line in axes.lines if line.get_linestyle() == "--" and to_rgba(line.get_color()) == colour]
        assert sorted(list(line.get_ydata()) for line in edges) == sorted([list(curve["low"]), list(curve["high"])])


def test_counts_get_integer_ticks():
    from matplotlib.ticker import MaxNLocator

    from slurm_search.rl._history_plot import draw_optimisation_history
    from slurm_search.rl._plots import (
        draw_search_curves,
        draw_setting_percentile_surface,
        draw_value_grid,
    )

    def integer(axis):
        locator = axis.get_major_locator()
        return isinstance(locator, MaxNLocator) and locator._integer

    curves = {"1 run": rl.search_curve(synthetic_settings(), 10, 1, trials=30, seed=1)}
    assert integer(draw_search_curves(curves).axes[0].xaxis)
    assert integer(draw_optimisation_history([(0, 1.0), (1, 2.0), (2, 1.5)]).axes[0].xaxis)
    grid = draw_value_grid([({"settings": s, "runs": r}, s * r) for s in (1, 2, 4) for r in (1, 3)], ("settings", "runs"))
    assert integer(grid.axes[0].xaxis) and integer(grid.axes[0].yaxis)
    surface, contour = draw_setting_percentile_surface(synthetic_settings())
    assert integer(surface.axes[0].xaxis) and integer(contour.axes[0].xaxis)
    # A grid of fractional values keeps its ordinary ticks.
    fractions = draw_value_grid([({"a": a / 3, "b": b / 7}, a * b) for a in (1, 2) for b in (1, 2)], ("a", "b"))
    assert not integer(fractions.axes[0].xaxis)


def test_no_legend_entry_matches_nothing_on_the_surface_and_contour():
    from matplotlib.patches import Patch

    from slurm_search.rl._plots import draw_setting_percentile_surface

    surface, contour = draw_setting_percentile_surface(synthetic_settings())
    # The surface's colours are explained by a colorbar, not by a legend patch.
    assert surface.axes[0].get_legend() is None and len(surface.axes) == 2
    legend = contour.axes[0].get_legend()
    assert [text.get_text() for text in legend.get_texts()] == [
        next(line.get_label() for line in contour.axes[0].lines)
    ]
    assert not any(isinstance(handle, Patch) for handle in legend.legend_handles)
    assert len(contour.axes) == 2  # its colorbar


def test_optimisation_history_shows_each_trial_and_the_best_so_far(tmp_path):
    from slurm_search.rl._history_plot import draw_optimisation_history, plot_optimisation_history

    axes = draw_optimisation_history([(0, 1.0), (1, 3.0), (2, 2.0), (4, 5.0), (5, float("nan"))]).axes[0]
    best = axes.lines[0]
    assert list(best.get_xdata()) == [0, 1, 2, 4] and list(best.get_ydata()) == [1.0, 3.0, 3.0, 5.0]
    assert [list(p) for p in axes.collections[0].get_offsets()] == [[0, 1.0], [1, 3.0], [2, 2.0], [4, 5.0]]
    lowest = draw_optimisation_history([(0, 3.0), (1, 1.0), (2, 2.0)], maximize=False).axes[0]
    assert list(lowest.lines[0].get_ydata()) == [3.0, 1.0, 1.0]
    check_png(plot_optimisation_history([(0, 1.0), (1, 2.0)], tmp_path / "history.png"))


def test_every_hyperparameter_search_of_a_run_gets_its_history(slurm_search_home):
    from slurm_search import session
    from slurm_search.dsl import run_experiment
    from slurm_search.rl._display import history_plots

    done = run_experiment("hp_tuning_effects", {"search:settings": 4}, debug=True, seed=3)
    paths = history_plots(done.name)
    assert [p.name for p in paths] == ["history_best_hp.argmax_mean.png"]
    check_png(paths[0])
    searches = [s for s in session.list_sessions(all=True) if session.info(s.name).metadata.get("var") == "hp"]
    assert len(searches) == 1 and searches[0].completed == 4


def test_pruned_trials_are_marked_apart_and_never_the_best():
    from slurm_search.rl._history_plot import draw_optimisation_history

    axes = draw_optimisation_history([(0, 1.0), (2, 2.0)], pruned=[(1, 5.0), (3, float("nan"))]).axes[0]
    labels = [text.get_text() for text in axes.get_legend().get_texts()]
    assert "pruned, at its last report (1)" in labels
    # The pruned 5.0 is drawn, but the best so far is the finished trials' 2.0.
    assert any("highest: 2" in label for label in labels)
    pruned = [c for c in axes.collections if c.get_label().startswith("pruned")]
    assert len(pruned) == 1 and pruned[0].get_offsets().tolist() == [[1.0, 5.0]]
