"""Whole objects: the API, re-entry, timeouts, corrupt files, restore."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys

import pytest
import state_workers

from slurm_search import locking, state


def test_create_read_update_exists_names_delete(slurm_search_home):
    assert state.names() == []
    assert not state.exists("exp:demo")
    state.create("exp:demo", {"n": 0})
    assert state.exists("exp:demo")
    assert state.read("exp:demo") == {"n": 0}
    state.update("exp:demo", {"n": 1})
    assert state.read("exp:demo") == {"n": 1}
    state.create("search:s1", [1])
    state.create("exp:another", None)
    assert state.names() == ["exp:another", "exp:demo", "search:s1"]
    assert state.names("exp") == ["exp:another", "exp:demo"]
    assert state.names("nothing") == []
    state.delete("exp:demo")
    assert not state.exists("exp:demo")
    assert state.names() == ["exp:another", "search:s1"]
    assert not (slurm_search_home / "exp" / "demo").exists()
    # Nothing hidden is left behind by the delete.
    assert os.listdir(slurm_search_home / "exp") == ["another"]


def test_layout_and_modes(slurm_search_home):
    state.create("exp:demo", 1)
    state.update("exp:demo", 2)
    folder = slurm_search_home / "exp" / "demo"
    assert sorted(os.listdir(folder)) == ["session_state.pickle", "session_state.pickle.prev"]
    for path in (slurm_search_home, slurm_search_home / "exp", folder):
        assert path.stat().st_mode & 0o777 == 0o700
    for path in folder.iterdir():
        assert path.stat().st_mode & 0o777 == 0o600
    with open(folder / "session_state.pickle", "rb") as f:
        assert pickle.load(f) == 2  # a plain pickle, readable by anything


def test_modes_do_not_depend_on_the_umask(slurm_search_home):
    old = os.umask(0)
    try:
        state.create("exp:demo", 1)
    finally:
        os.umask(old)
    assert (slurm_search_home / "exp").stat().st_mode & 0o777 == 0o700
    assert (slurm_search_home / "exp" / "demo" / "session_state.pickle").stat().st_mode & 0o777 == 0o600


def test_errors_for_missing_and_existing():
    with pytest.raises(state.NotFound) as info:
        state.read("exp:nope")
    assert info.value.name == "exp:nope"
    assert isinstance(info.value, KeyError)
    assert "create it first" in str(info.value)
    with pytest.raises(state.NotFound):
        state.update("exp:nope", 1)
    with pytest.raises(state.NotFound):
        with state.transaction("exp:nope"):
            pass
    with pytest.raises(state.NotFound):
        state.delete("exp:nope")
    state.create("exp:demo", 1)
    with pytest.raises(state.AlreadyExists) as info:
        state.create("exp:demo", 2)
    assert "update()" in str(info.value)
    assert state.read("exp:demo") == 1


def test_transaction_writes_back_on_normal_exit_only():
    state.create("exp:demo", {"n": 0})
    with state.transaction("exp:demo") as box:
        box.value["n"] += 1
    assert state.read("exp:demo") == {"n": 1}
    with state.transaction("exp:demo") as box:
        box.value = ["replaced"]
    assert state.read("exp:demo") == ["replaced"]
    with pytest.raises(ZeroDivisionError):
        with state.transaction("exp:demo") as box:
            box.value.append("lost")
            1 / 0
    assert state.read("exp:demo") == ["replaced"]
    # An object that does not pickle is not written either, and nothing is lost.
    with pytest.raises((pickle.PicklingError, TypeError, AttributeError)):
        with state.transaction("exp:demo") as box:
            box.value = lambda: None
    assert state.read("exp:demo") == ["replaced"]


def test_calls_inside_a_transaction_use_its_lock():
    state.create("exp:demo", {"n": 0})
    with state.transaction("exp:demo", timeout=5) as box:
        assert locking.have_lock("exp:demo")
        assert state.read("exp:demo") == {"n": 0}
        state.update("exp:demo", {"n": 10}, timeout=5)
        state.append("exp:demo", "rec", timeout=5)
        with state.transaction("exp:demo", timeout=5) as inner:
            assert inner.value == {"n": 10}
        box.value["n"] += 1
    assert not locking.have_lock("exp:demo")
    assert state.read("exp:demo") == {"n": 1}  # the outer write comes last
    assert state.records("exp:demo")[0] == ["rec"]


def test_calls_under_a_caller_held_lock_are_one_atomic_step():
    state.create("exp:demo", 0)
    with locking.lock("exp:demo"):
        recs, pos = state.records("exp:demo")
        state.append("exp:demo", len(recs))
        with state.transaction("exp:demo") as box:
            box.value += 1
        state.restore_previous("exp:demo")
        state.delete("exp:demo")
        state.create("exp:demo", 5)
    assert state.read("exp:demo") == 5


def test_timeouts_and_other_names_do_not_block():
    state.create("exp:a", {"n": 0})
    state.create("exp:b", {"n": 0})
    holder = state_workers.run("hold", "exp:a", stdin=subprocess.PIPE)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(locking.LockTimeout) as info:
            with state.transaction("exp:a", timeout=0.3):
                pytest.fail("got a lock held by another process")
        assert info.value.name == "exp:a"
        for call in (lambda: state.update("exp:a", 1, timeout=0.2),
                     lambda: state.append("exp:a", 1, timeout=0.2),
                     lambda: state.delete("exp:a", timeout=0.2)):
            with pytest.raises(locking.LockTimeout):
                call()
        # Reads take no lock.
        assert state.read("exp:a") == {"n": 0}
        # Another name goes ahead while exp:a is held.
        with state.transaction("exp:b", timeout=60) as box:
            box.value["n"] += 1
        assert state.read("exp:b") == {"n": 1}
    finally:
        holder.stdin.close()
        assert holder.wait(timeout=60) == 0
    with state.transaction("exp:a", timeout=60) as box:
        box.value["n"] += 1
    assert state.read("exp:a") == {"n": 1}


def test_restore_previous_swaps_versions(slurm_search_home):
    state.create("exp:demo", "v1")
    with pytest.raises(state.NotFound) as info:
        state.restore_previous("exp:demo")
    assert "nothing to restore" in str(info.value)
    state.update("exp:demo", "v2")
    state.restore_previous("exp:demo")
    assert state.read("exp:demo") == "v1"
    state.restore_previous("exp:demo")
    assert state.read("exp:demo") == "v2"


@pytest.mark.parametrize(
    "damage",
    ["garbage", "truncated", "empty"],
)
def test_corrupt_object_raises_and_restore_recovers(damage):
    state.create("exp:demo", {"v": 1, "pad": list(range(1000))})
    state.update("exp:demo", {"v": 2, "pad": list(range(1000))})
    path = state.paths("exp:demo").object
    data = path.read_bytes()
    if damage == "garbage":
        data = b"\x80\x05not a pickle at all" + os.urandom(100)
    elif damage == "truncated":
        data = data[: len(data) // 2]
    else:
        data = b""
    path.write_bytes(data)
    for _ in range(2):  # nothing changes by failing
        with pytest.raises(state.CorruptState) as info:
            state.read("exp:demo")
    err = info.value
    assert err.path == path
    assert err.name == "exp:demo"
    assert err.offset is None
    assert "python -m slurm_search.state restore exp:demo" in str(err)
    assert "\n" not in str(err)
    with pytest.raises(state.CorruptState):
        with state.transaction("exp:demo"):
            pass
    assert path.read_bytes() == data  # a failed transaction writes nothing
    state.restore_previous("exp:demo")
    assert state.read("exp:demo")["v"] == 1
    # The damaged file is kept as the previous version, not thrown away.
    assert state.paths("exp:demo").previous.read_bytes() == data


def test_restore_of_a_corrupt_previous_version_changes_nothing():
    state.create("exp:demo", "v1")
    state.update("exp:demo", "v2")
    state.paths("exp:demo").previous.write_bytes(b"junk")
    with pytest.raises(state.CorruptState) as info:
        state.restore_previous("exp:demo")
    assert info.value.path == state.paths("exp:demo").previous
    assert "left as it was" in str(info.value)
    assert state.read("exp:demo") == "v2"


def test_errors_survive_pickling():
    errors = [
        state.InvalidName("a/b"),
        state.NotFound("exp:a", state.paths("exp:a").object),
        state.AlreadyExists("exp:a", state.paths("exp:a").object),
        state.CorruptState("exp:a", state.paths("exp:a").log, "bad", offset=20),
        state.UnsafeState(state.paths("exp:a").object, "writable by others", "chmod o-w x"),
        state.LogCompacted("exp:a", state.Position(1, 2)),
    ]
    for err in errors:
        back = pickle.loads(pickle.dumps(err))
        assert type(back) is type(err)
        assert str(back) == str(err)
        assert back.__dict__ == err.__dict__


def test_importing_state_does_not_import_torch_or_upper_layers():
    code = (
        "import sys, slurm_search.state; "
        "bad = [m for m in sys.modules if m == 'torch' or m.startswith("
        "('slurm_search.session', 'slurm_search.dsl', 'slurm_search.rl'))]; "
        "print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
