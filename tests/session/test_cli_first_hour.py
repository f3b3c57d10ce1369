"""ssearch in a new user's first hour: a session kept after a failed sbatch
is not "running", del_trial points to the trials, the listing is newest
first with experiments folded (pure), and --version."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from slurm_search import session
from slurm_search.session.workers._summary import listing, shown_status

SSEARCH = Path(sys.executable).parent / "ssearch"


def ssearch(*args, env=None):
    return subprocess.run([str(SSEARCH), *args], capture_output=True, text=True, timeout=120, env=env)


def test_a_session_kept_after_a_failed_sbatch_is_idle_not_running(tmp_path):
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "sbatch").write_text(
        "#!/bin/sh\necho 'sbatch: error: Batch job submission failed: Invalid partition name specified' >&2\nexit 1\n"
    )
    (fake / "sbatch").chmod(0o755)
    env = {**os.environ, "PATH": f"{fake}{os.pathsep}{os.environ['PATH']}"}
    started = ssearch("start", "demo", "max_evals=5", "--method=slurm", "--slurm:partition=nope", env=env)
    assert started.returncode == 1 and "is kept" in started.stderr
    name = started.stdout.strip()
    rows = {row["name"]: row for row in json.loads(ssearch("list", "--json").stdout)}
    assert rows[name]["status"] == "idle" and rows[name]["running"] == 0
    table = ssearch("list").stdout.splitlines()
    assert next(line for line in table if line.startswith(name)).split()[1] == "idle"
    assert "status: idle" in ssearch("show", name).stdout


def test_del_trial_of_an_unknown_trial_points_to_ssearch_trials():
    name = session.create_session("slurm_search.session.demo:objective", {"x": 1.0}, max_evals=3)
    out = ssearch("del_trial", name, "7")
    assert out.returncode == 1 and out.stderr.count("\n") == 1
    assert f"see its trials with `ssearch trials {name}`" in out.stderr


def test_version():
    out = ssearch("--version")
    assert out.returncode == 0 and out.stdout.startswith("ssearch ") and "(slurm-search-session)" in out.stdout


def test_listing_is_newest_first_and_folds_sub_sessions():
    rows = [
        {"name": "search:a", "created": 1.0},
        {"name": "search:outer", "created": 2.0},
        {"name": "search:inner1", "created": 3.0},
        {"name": "search:inner2", "created": 4.0},
        {"name": "search:b", "created": 5.0},
    ]
    labels = {
        "search:outer": ("exp:run/best_xy/argmax:mean", "exp:run"),
        "search:inner1": ("exp:run/best_xy/argmax:mean/@1", "exp:run"),
        "search:inner2": ("exp:run/best_xy/argmax:mean/@2", "exp:run"),
    }
    folded, hidden = listing(rows, labels, fold=True)
    assert [row["name"] for row in folded] == ["search:b", "search:outer", "search:a"] and hidden == 2
    assert folded[1]["experiment"] == "exp:run/best_xy/argmax:mean" and folded[0]["experiment"] is None
    every, hidden = listing(rows, labels, fold=False)
    assert [row["name"] for row in every] == ["search:b", "search:inner2", "search:inner1", "search:outer", "search:a"]
    assert hidden == 0
    # Inner searches still running while the outer one is done: they are the outermost listed.
    inner_only, hidden = listing(rows[2:4], labels, fold=True)
    assert len(inner_only) == 2 and hidden == 0


def test_shown_status():
    assert shown_status("running", 0) == "idle"
    assert shown_status("running", 2) == "running"
    assert shown_status("done", 0) == "done"
