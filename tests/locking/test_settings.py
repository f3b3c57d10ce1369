"""Every SLURM_SEARCH_* variable is a setting declared through slurm_search.locking.settings
(by the package that uses it, in its own ``settings`` module), one test each."""

from __future__ import annotations

import ast
import os
import stat
from pathlib import Path

import pytest

from slurm_search import locking, state
from slurm_search.locking import settings

VARIABLES = (  # every variable the packages read (SSEARCH_DEMO_CALLS: the demo's test hook)
    "SLURM_SEARCH_HOME",
    "SLURM_SEARCH_LOCK",
    "SLURM_SEARCH_LOCK_GRACE",
    "SLURM_SEARCH_SHARED_GROUP",
    "SLURM_SEARCH_WORKER_START",
    "SLURM_SEARCH_LEAVE_GRACE",
    "SLURM_SEARCH_RL_LOGDIR",
    "SSEARCH_DEMO_CALLS",
)


def test_every_variable_is_listed_once():
    declared = settings.all_settings()
    names = [s.name for s in declared]
    assert len(set(names)) == len(names) == len(VARIABLES) and set(names) == set(VARIABLES)
    assert all(name.startswith("SLURM_SEARCH_") for name in names if name != "SSEARCH_DEMO_CALLS")
    for setting in declared:
        # ... each declared by its own package, and documented in its module's table
        module = __import__(setting.owner, fromlist=["_"])
        assert f"``{setting.name}``" in module.__doc__ and setting.doc
    owners = {s.name: s.owner.split(".")[1] for s in declared}
    assert owners["SLURM_SEARCH_RL_LOGDIR"] == "rl" and owners["SLURM_SEARCH_WORKER_START"] == "session"
    assert owners["SLURM_SEARCH_LEAVE_GRACE"] == "session" and owners["SSEARCH_DEMO_CALLS"] == "dsl"


def test_a_setting_declared_twice_is_refused():
    with pytest.raises(ValueError, match="declared twice"):
        settings.declare("SLURM_SEARCH_LOCK", str, "", "again", owner="somewhere.else")
    assert settings.LOCK.owner == settings.__name__


def test_a_package_declares_a_setting_without_changing_locking(monkeypatch):
    # The mechanism rl and session use: a parser, a default, a doc.
    setting = settings.declare(
        "SLURM_SEARCH_TEST_ONLY", settings.choice("a", "b"), "a", "a test's own", owner=__name__
    )
    try:
        assert setting.get() == "a"
        monkeypatch.setenv("SLURM_SEARCH_TEST_ONLY", " B ")
        assert setting.get() == "b"
        monkeypatch.setenv("SLURM_SEARCH_TEST_ONLY", "c")
        with pytest.raises(locking.InvalidEnvironmentSetting, match="TEST_ONLY='c' is not valid: use one of a, b"):
            setting.get()
    finally:
        settings._declared.pop("SLURM_SEARCH_TEST_ONLY")


def test_home(monkeypatch, tmp_path):
    monkeypatch.setenv("SLURM_SEARCH_HOME", str(tmp_path / "store"))
    assert settings.home() == tmp_path / "store" == locking.home() == state.root()
    monkeypatch.delenv("SLURM_SEARCH_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert settings.home() == tmp_path / "hyperparameters" == state.root()
    assert settings.home_key() == ("", str(tmp_path))


@pytest.mark.parametrize("raw", ["", "  "])
def test_an_empty_home_is_refused_not_read_as_the_default(monkeypatch, tmp_path, raw):
    # Set but empty used to mean ~/hyperparameters: another store, silently.
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("SLURM_SEARCH_HOME", raw)
    with pytest.raises(locking.InvalidEnvironmentSetting, match="SLURM_SEARCH_HOME=.* is not valid: give the store's"):
        settings.home()
    with pytest.raises(locking.InvalidEnvironmentSetting):
        state.names()
    assert not (tmp_path / "hyperparameters").exists()


def test_a_home_that_is_a_file_or_under_one_is_refused(monkeypatch, tmp_path):
    (tmp_path / "afile").write_text("")
    monkeypatch.setenv("SLURM_SEARCH_HOME", str(tmp_path / "afile"))
    with pytest.raises(locking.InvalidEnvironmentSetting, match="it is a file: give a folder"):
        state.names()  # was: [], as for an empty store
    monkeypatch.setenv("SLURM_SEARCH_HOME", str(tmp_path / "afile" / "store"))
    with pytest.raises(locking.InvalidEnvironmentSetting, match="which is a file"):
        state.create("t:x", 1)  # was: NotADirectoryError


def test_a_relative_home_is_made_absolute_once(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SLURM_SEARCH_HOME", "rel/store")
    assert settings.home() == tmp_path / "rel" / "store"
    # Set back absolute: processes started from here in other folders agree.
    assert os.environ["SLURM_SEARCH_HOME"] == str(tmp_path / "rel" / "store")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert settings.home() == tmp_path / "rel" / "store" == state.root()


def test_a_store_whose_locks_folder_is_a_file_is_one_line(monkeypatch, tmp_path):
    home = tmp_path / "store"
    home.mkdir(mode=0o700)
    (home / "locks").write_text("")
    monkeypatch.setenv("SLURM_SEARCH_HOME", str(home))
    with pytest.raises(NotADirectoryError) as info:
        locking.ensure_dir(home / "locks")
    assert info.value.filename == str(home / "locks")  # the file in the way, not a probe under it
    wrapped = state.store_os_error(info.value)
    assert wrapped is not None and "locks is a file where a folder should be" in str(wrapped)


@pytest.mark.parametrize("raw, mode", [("", "auto"), ("FLOCK", "flock"), (" soft ", "soft"), ("auto", "auto")])
def test_lock_mode_request(monkeypatch, raw, mode):
    monkeypatch.setenv("SLURM_SEARCH_LOCK", raw)
    assert settings.requested_mode() == mode


def test_a_bad_lock_mode_is_a_typed_error(monkeypatch):
    monkeypatch.setenv("SLURM_SEARCH_LOCK", "nfs")
    with pytest.raises(locking.InvalidEnvironmentSetting, match=r"SLURM_SEARCH_LOCK='nfs' is not valid: use one of auto"):
        settings.requested_mode()


@pytest.mark.parametrize("raw, grace", [("", 30.0), ("2.5", 2.5)])
def test_lock_grace(monkeypatch, raw, grace):
    monkeypatch.setenv("SLURM_SEARCH_LOCK_GRACE", raw)
    assert settings.soft_grace() == grace


@pytest.mark.parametrize("raw", ["0", "-1", "inf", "soon"])
def test_a_bad_lock_grace_is_refused(monkeypatch, raw):
    monkeypatch.setenv("SLURM_SEARCH_LOCK_GRACE", raw)
    with pytest.raises(locking.InvalidEnvironmentSetting, match="SLURM_SEARCH_LOCK_GRACE"):
        settings.soft_grace()


@pytest.mark.parametrize(
    "raw, shared", [("", False), ("0", False), ("FALSE", False), (" no ", False), ("1", True), ("yes", True)]
)
def test_shared_group_decides_every_mode_the_same_way(monkeypatch, tmp_path, raw, shared):
    monkeypatch.setenv("SLURM_SEARCH_SHARED_GROUP", raw)
    monkeypatch.setenv("SLURM_SEARCH_HOME", str(tmp_path / "store"))
    assert settings.group_shared() is shared
    state.create("exp:modes", 1)
    folder = state.paths("exp:modes").dir
    file = state.paths("exp:modes").object
    want_dir, want_file = (0o770, 0o660) if shared else (0o700, 0o600)
    # The store's folders, its files and the lock folder agree (FALSE used to give 0770 folders and 0600 files).
    assert stat.S_IMODE(os.stat(folder).st_mode) == want_dir
    assert stat.S_IMODE(os.stat(file).st_mode) == want_file
    assert stat.S_IMODE(os.stat(settings.locks_dir()).st_mode) == want_dir


@pytest.mark.parametrize("raw, start", [("", "auto"), ("fork", "fork"), ("SPAWN", "spawn")])
def test_worker_start(monkeypatch, raw, start):
    session_settings = pytest.importorskip("slurm_search.session.settings")
    monkeypatch.setenv("SLURM_SEARCH_WORKER_START", raw)
    assert session_settings.worker_start() == start


def test_a_bad_worker_start_is_refused(monkeypatch):
    session_settings = pytest.importorskip("slurm_search.session.settings")
    monkeypatch.setenv("SLURM_SEARCH_WORKER_START", "threads")
    with pytest.raises(locking.InvalidEnvironmentSetting, match="use one of auto, fork, spawn"):
        session_settings.worker_start()


def test_rl_logdir(monkeypatch, tmp_path):
    rl_settings = pytest.importorskip("slurm_search.rl.settings")
    monkeypatch.delenv("SLURM_SEARCH_RL_LOGDIR", raising=False)
    assert rl_settings.rl_logdir() is None
    monkeypatch.setenv("SLURM_SEARCH_RL_LOGDIR", str(tmp_path / "tb"))
    assert rl_settings.rl_logdir() == tmp_path / "tb"


def test_ensure_dir_creates_missing_parents_with_the_store_mode(monkeypatch, tmp_path):
    monkeypatch.setenv("SLURM_SEARCH_SHARED_GROUP", "1")
    old = os.umask(0o077)
    try:
        made = locking.ensure_dir(tmp_path / "a" / "b")
    finally:
        os.umask(old)
    assert made == tmp_path / "a" / "b"
    assert [stat.S_IMODE(os.stat(p).st_mode) for p in (tmp_path / "a", made)] == [0o770, 0o770]
    assert locking.ensure_dir(made) == made  # an existing folder is left as it is


# The modules that may read the environment, and why (each the one place for what it reads).
ENVIRONMENT_READERS = {
    "locking/src/slurm_search/locking/settings.py": "the settings mechanism",
    "state/src/slurm_search/state/settings.py": "SLURM_JOB_ID, for the doctor (Slurm's, not a setting)",
    "session/src/slurm_search/session/_folders.py": "PYTHONPATH, so workers import the user's modules",
    "session/src/slurm_search/session/workers/_slurm_commands.py": "a Slurm task's SLURM_* variables",
}


def _environment_reads(path: Path) -> list[int]:
    # Any use of os.environ or os.getenv (a read, a copy, a `in`), by the syntax tree.
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "getenvb", "environb"):
            found.append(node.lineno)
        elif isinstance(node, ast.ImportFrom) and node.module == "os":
            if any(a.name in ("environ", "getenv") for a in node.names):
                found.append(node.lineno)
    return found


def test_no_package_reads_a_slurm_search_variable_itself():
    # Nor any other variable, outside the documented places above: the
    # settings each package declares are the way in (this used to find
    # only lines naming SLURM_SEARCH_, and missed dsl's _spec and demo,
    # session's _evaluation and state's _command).
    root = Path(__file__).resolve().parents[2] / "packages"
    readers = []
    for path in root.glob("*/src/slurm_search/**/*.py"):
        if path.relative_to(root).as_posix() in ENVIRONMENT_READERS:
            continue
        readers += [f"{path.relative_to(root)}:{line}" for line in _environment_reads(path)]
    assert readers == []
