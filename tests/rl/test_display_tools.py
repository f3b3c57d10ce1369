"""The original's display helpers, headless: each writes PNG files where the
original opened a window or saved in the working directory."""

from __future__ import annotations

import numpy as np
import pytest

from slurm_search import rl

PNG = b"\x89PNG\r\n\x1a\n"


def _pngs(paths):
    assert paths
    for path in paths:
        assert path.read_bytes()[:8] == PNG
    return paths


def test_display_cdfs(tmp_path):
    (path,) = _pngs(rl.display_cdfs([[3, 1, 2], [5, 4]], ["a", "b"], title="t", fig_name=str(tmp_path / "cdfs")))
    assert path == tmp_path / "cdfs.png"


def test_display_setting_surface_and_product_contours(tmp_path):
    rng = np.random.default_rng(0)
    points = [({"lr": float(x), "entropy_loss_scaling": float(y)}, float(x * y)) for x, y in rng.random((12, 2))]
    paths = _pngs(rl.display_setting_surface(
        points, setting_dims=["entropy_loss_scaling", "lr"], product_contours=True, fig_name=str(tmp_path / "s"),
    ))
    assert sorted(p.name for p in paths) == ["s_contour.png", "s_surface.png"]
    with pytest.raises(ValueError, match="span no area"):
        rl.display_setting_surface(points[:2], setting_dims=["entropy_loss_scaling", "lr"], fig_name=str(tmp_path / "x"))


def test_display_setting_cdf_surface(tmp_path):
    cdfs = [({"lr": i}, [i, i + 1.0, i + 3.0]) for i in range(5)]
    _pngs(rl.display_setting_cdf_surface(cdfs, fig_name=str(tmp_path / "c")))
    with pytest.raises(ValueError, match="same number of runs"):
        rl.display_setting_cdf_surface([[1, 2], [1]], fig_name=str(tmp_path / "bad"))


def test_display_setting_samples_and_runs(tmp_path):
    _pngs(rl.display_setting_samples([[(0.1, 1.0), (0.2, 3.0)]], labels=["lr"], fig_name=str(tmp_path / "p")))
    _pngs(rl.display_runs(np.ones((2, 3, 4)), labels=["a", "b"], stdev=True, fig_name=str(tmp_path / "r")))


def test_bootstrapped_random_search_runs(tmp_path):
    search = {
        "session_name": "search:some_name",
        "point_values": [({"lr": i}, {"point_values": [(s, float(i + s)) for s in range(3)]}) for i in range(6)],
    }
    trace = rl.simulated_search([[1.0, 1.0], [5.0, 5.0]], 2, 2, np.random.default_rng(1))
    assert len(trace) == 2 * 2 + 1 and trace[-1] == 5.0
    (path,) = _pngs(rl.display_bootstrapped_random_search_runs(search, 4, 3, 2, fig_name=str(tmp_path / "boot")))
    assert path.name == "boot.png"


def test_show_writes_a_file_instead_of_a_window(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (path,) = rl.display_cdfs([[1, 2]], show=True)
    assert (tmp_path / path).read_bytes()[:8] == PNG
    assert rl.display_cdfs([[1, 2]]) == []  # neither: nothing written
