"""A session worked on from two "hosts": `ssearch work_on` processes split
across two FUSE views of one store whose locks are node-local
(tests/fs_views.py), with the default settings."""

from __future__ import annotations

import collections
import os
import subprocess
import sys

import fs_views
from _session_helpers import worker_env
from hyperopt import hp

from slurm_search import session

SSEARCH = os.path.join(os.path.dirname(sys.executable), "ssearch")
TRIALS = 300


def test_a_session_across_two_views_with_node_local_locks(tmp_path, monkeypatch):
    with fs_views.mounted(tmp_path, "node-local") as (a, b):
        monkeypatch.setenv("SLURM_SEARCH_HOME", str(a / "store"))
        name = session.create_session(
            "session_test_objectives:sleepy", {"x": hp.uniform("x", 0, 1)}, max_evals=TRIALS, seed=3,
            context={"sleep": 0.01},  # long enough that every worker gets trials
        )
        procs = []
        for i, view in enumerate((a, a, b, b)):
            env = dict(worker_env(), SLURM_SEARCH_HOME=str(view / "store"))
            procs.append(
                subprocess.Popen(
                    [SSEARCH, "work_on", name, "--worker-id", f"w{i}"],
                    env=env,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
        errors = [(p.wait(timeout=900), p.stderr.read()) for p in procs]
        assert [rc for rc, _ in errors] == [0] * 4, errors
        monkeypatch.setenv("SLURM_SEARCH_HOME", str(b / "store"))
        progress = session.progress(name)
        results = session.results(name)
        owners = {doc["owner"] for doc in session.trial_docs(name)}
    assert (progress.completed, progress.failed) == (TRIALS, 0)
    tids = collections.Counter(r.tid for r in results)
    assert sorted(tids) == list(range(TRIALS))  # every trial once: none lost, none twice
    assert owners & {"w0", "w1"} and owners & {"w2", "w3"}  # workers of both views did trials
