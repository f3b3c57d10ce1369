"""One error system: every package's errors derive from SlurmSearchError, which alone makes them pickle."""

from __future__ import annotations

import importlib
import inspect
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from slurm_search import dsl, locking, rl, session, state
from slurm_search.locking import SlurmSearchError
from slurm_search.session import workers

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

# Exceptions that are not a user's problem or belong to another library's hierarchy, and why.
NOT_OURS = {
    "Damage": "state's internal signal between the frame reader and the log reader, never raised to a caller",
    "MissingCode": "salvage's internal signal, turned into SalvageNeedsCode",
    "ReadOnlyStorageError": "optuna's storage protocol: a NotImplementedError that optuna-dashboard expects",
    "CommandError": "click's exception class, how ssearch prints its one line",
    "BadArgument": "click's exception class (a CommandError)",
    "UserError": "run_exp's own mistakes in its arguments, printed by run_exp itself",
    "Pruned": "control flow of an objective that a pruner stops, not an error",
    "_Untraceable": "session's _fast_eval signal to itself (hand this graph to hyperopt's rec_eval), never raised out",
    "_Leave": "rl's way out of ALL's training loop when the worker is told to leave (it then suspends), never raised out",
}


def _exception_classes():
    """Every exception class defined in the packages' modules (each module imported)."""
    for path in sorted(ROOT.glob("packages/*/src/slurm_search/**/*.py")):
        src = ROOT / "packages" / path.relative_to(ROOT).parts[1] / "src"
        name = ".".join(path.relative_to(src).with_suffix("").parts).removesuffix(".__init__")
        if name.endswith("__main__"):
            continue
        module = importlib.import_module(name)
        for value in vars(module).values():
            if inspect.isclass(value) and issubclass(value, BaseException) and value.__module__ == name:
                yield value


def test_every_exported_error_derives_from_the_one_base():
    classes = set(_exception_classes())
    assert len(classes) > 40
    strays = sorted(c.__name__ for c in classes if not issubclass(c, SlurmSearchError) and c.__name__ not in NOT_OURS)
    assert strays == []


def test_no_error_class_pickles_itself():
    """The base's __reduce__ is the only one: no copies of a _rebuild, no hand-written __reduce__."""
    found = sorted(
        str(path.relative_to(ROOT))
        for path in ROOT.glob("packages/*/src/slurm_search/**/*.py")
        if "def __reduce__" in path.read_text()
    )
    # The base's, dsl's SamplingResults (a dict, not an error: its __reduce__ keeps its attributes)
    # and session's LazyTrials (a dict whose finished trials stay pickled until read).
    assert found == [
        "packages/dsl/src/slurm_search/dsl/_measures.py",
        "packages/locking/src/slurm_search/locking/_errors.py",
        "packages/session/src/slurm_search/session/_snapshots.py",
    ]


@pytest.mark.parametrize(
    "error",
    [
        locking.LockTimeout("search:x", 2.5),
        locking.InvalidEnvironmentSetting("SLURM_SEARCH_LOCK", "nfs", "use one of auto, flock, soft"),
        state.NotFound("exp:x", Path("/tmp/x"), "previous version", "nothing to restore"),
        session.LeaseLost("search:x", 3, "w1", 2, "w2", "taken over"),
        session.InvalidValue("[1, 2", "was never closed"),
        workers.BadSlurmOption("time", "5 --output=/tmp/x", "one word"),
        dsl.UnknownExperiment("hp_tuning", ["hp_tuning_effects"], ["hp_tuning_effects"]),
        rl.UnknownAgent("classic:a3c", ["classic:a2c"]),
    ],
    ids=lambda e: type(e).__name__,
)
def test_errors_of_every_package_survive_pickling(error):
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is type(error)
    assert str(again) == str(error) and again.args == error.args
    assert vars(again) == vars(error)
    assert isinstance(again, SlurmSearchError)


def test_both_commands_print_errors_the_same_way(tmp_path):
    env = {"SLURM_SEARCH_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    ssearch = subprocess.run([str(BIN / "ssearch"), "show", "nosuch"], capture_output=True, text=True, env=env)
    run_exp = subprocess.run([str(BIN / "run_exp"), "--show=exp:nosuch"], capture_output=True, text=True, env=env)
    for proc, prog in ((ssearch, "ssearch"), (run_exp, "run_exp")):
        lines = [line for line in proc.stderr.splitlines() if line.strip()]
        assert proc.returncode == 1 and len(lines) == 1 and lines[0].startswith(f"{prog}: error: "), proc.stderr
