"""Write the golden session of the current on-disk format (run by hand, once per format).

    cd tests/session && PYTHONPATH=... python data/make_golden.py

makes `data/golden/format<N>/` (N: `slurm_search.session._format.FORMAT_VERSION`,
1 before that module existed): a store holding one session,
`search:golden_v<N>`, written by the real API of this version (claims,
results, a failure, intermediate reports, prunings, a deleted trial, a take-
over, annotations, stop/enable commands, a checkpoint with records after it),
and `expected.json`, what this version reads back from it.
`test_integrity_format.py` reads every `format*` folder with the current code
and compares. Never regenerate an existing folder: a new format gets a new one.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # session_test_objectives


def expected(name: str) -> dict:
    """What a reader gets from the session: the test compares the current code's reading with it."""
    from slurm_search import session

    p = session.progress(name)
    best = session.best(name)
    results = session.results(name)
    return {
        "name": name,
        "status": p.status,
        "completed": p.completed,
        "failed": p.failed,
        "running": p.running,
        "waiting": p.waiting,
        "pruned": p.pruned,
        "max_evals": p.max_evals,
        "best_loss": p.best_loss,
        "best_tid": best.tid,
        "best_params": best.params,
        "losses": {str(r.tid): r.loss for r in results},
        "params": {str(r.tid): r.params for r in results},
        "reports": {str(t): {str(s): v for s, v in r.items()} for t, r in session.trial_reports(name).items()},
        "annotations": session.annotations(name),
        "owners": sorted([o, s] for o, s in session.trial_owners(name) if o is not None),
        "last_traceback": p.last_traceback,
    }


def make(home: Path, version: int) -> str:
    from hyperopt import hp

    from slurm_search import session
    from slurm_search.session._snapshots import write
    from slurm_search.session._view import View

    name = session.create_session(
        "session_test_objectives:curve",
        {"x": hp.uniform("x", 0, 1), "opt": hp.choice("opt", ["adam", "sgd"])},
        name=f"search:golden_v{version}",
        max_evals=9,
        seed=7,
        context={"steps": 4},
        metadata={"made_by": "tests/session/data/make_golden.py", "format": version},
        max_failures=5,
        lease_seconds=0.5,
        pruner="median",
        pruner_options={"n_startup_trials": 2, "n_warmup_steps": 1},
    )
    t = session.next_trial(name, "golden-a")
    session.record_result(name, "golden-a", t.tid, {"loss": 0.25, "note": "by hand"}, t.attempt, 1.5)
    t = session.next_trial(name, "golden-a")
    traceback = "Traceback (most recent call last):\nValueError: boom"
    session.record_failure(name, "golden-a", t.tid, traceback, t.attempt, 0.5)
    t = session.next_trial(name, "golden-b")
    session.delete_trial(name, t.tid)
    session.annotate(name, "slurm_jobs", [101, 102])
    session.stop(name)
    session.enable(name)
    if version >= 2:
        # Format 2: a result stored apart (>= 1 MiB), a trial checkpoint and a hand-back.
        from slurm_search.session._claims import claim_and_report
        from slurm_search.session._current import evaluating
        from slurm_search.session._results import suspend_report

        t = session.next_trial(name, "golden-a")
        session.record_result(name, "golden-a", t.tid, {"loss": 0.5, "big": b"b" * (1 << 20)}, t.attempt, 2.0)
        t = session.next_trial(name, "golden-d")
        with evaluating(name, t.tid, t.attempt, "golden-d"):
            session.save_checkpoint({"step": 2}, step=2)
        claim_and_report(name, "golden-d", suspend_report("golden-d", t.tid, "a golden cut"), t.tid, t.attempt, claim=False)
    session.next_trial(name, "golden-lost")  # its worker "dies": taken over after its lease
    v = View(name)
    v.refresh()
    assert write(v, wait=True)
    time.sleep(0.6)
    session.work_on(name, worker_id="golden-c")
    session.annotate(name, "after_checkpoint", {"ok": True})
    return name


def main() -> None:
    try:
        from slurm_search.session._format import FORMAT_VERSION
    except ImportError:
        FORMAT_VERSION = 1  # noqa: N806 - before versions were recorded
    out = HERE / "golden" / f"format{FORMAT_VERSION}"
    if out.exists():
        raise SystemExit(f"{out} exists: a format's golden files are never regenerated")
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        os.environ["SLURM_SEARCH_HOME"] = str(home)
        name = make(home, FORMAT_VERSION)
        found = expected(name)
        kind, short = name.split(":")
        src = home / kind / short
        dst = out / "store" / kind / short
        dst.mkdir(parents=True)
        for f in ("session_state.pickle", "records.log", "checkpoint.pickle"):
            shutil.copy2(src / f, dst / f)
        if (src / "blobs").is_dir():
            shutil.copytree(src / "blobs", dst / "blobs")
    (out / "expected.json").write_text(json.dumps(found, indent=1, sort_keys=True) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
