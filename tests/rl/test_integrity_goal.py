"""An `ale` session maximises the mean return: listings show the return, highest best (issue 21)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from slurm_search import session
from slurm_search.session.workers._registry import session_arguments

SSEARCH = Path(sys.executable).parent / "ssearch"


def test_an_ale_session_is_listed_by_its_best_return():
    args = session_arguments("ale", {"agent": "debug", "test_episodes": 2})
    args.update(max_evals=3, seed=1, algo="rand")
    name = session.create_session(**args)
    session.work_on(name)
    best_return = max(r.result["return_mean"] for r in session.results(name))
    assert session.info(name).goal == "max"
    listed = subprocess.run([str(SSEARCH), "list", "--all", "--json"], capture_output=True, text=True, timeout=300)
    row = {r["name"]: r for r in json.loads(listed.stdout)}[name]
    assert (row["goal"], row["best"]) == ("max", pytest.approx(best_return))
