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
