"""An experiment file in the original's style (tests/rl/data) runs through
``run_exp`` on fresh local worker processes: its module's hyperopt function
is defined there because each worker imports the experiment's module before
it evaluates a space; its display helpers write their figures."""

from __future__ import annotations

from pathlib import Path

from test_experiments import experiment_name, run_exp

DATA = Path(__file__).parent / "data"


def test_original_style_file_runs_on_fresh_cpu_workers(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(DATA))
    monkeypatch.setenv("SLURM_SEARCH_WORKER_START", "spawn")
    monkeypatch.chdir(tmp_path)
    out = run_exp("original_style_experiment:style_check_exp", "--debug=true", "--seed=1")
    assert out.returncode == 0, out.stderr[-3000:]
    assert "KeyError" not in out.stderr and "lease" not in out.stderr
    assert "Performance for trial best:" in out.stdout
    prefix = experiment_name(out.stdout) + "_"
    figures = sorted(path.name[len(prefix):] for path in tmp_path.glob("exp:*.png"))
    assert figures == sorted([
        "pct_contour.png", "pct_surface.png", "setting_cdfs.png",
        "setting_mean_return_contour.png", "setting_mean_return_surface.png",
    ])
