"""One safe open (`_files.open_checked`) for every stored file: a file with a
second name (a hard link from elsewhere) is refused by every reader and
writer, each of which used to have its own copy of the checks (and only the
log's writer checked the link count)."""

from __future__ import annotations

import os

import pytest

from slurm_search import state

NAME = "search:linked"


def _store_with_checkpoint_and_blob():
    state.create(NAME, {"n": 1})
    state.append(NAME, "a", "b")
    _, pos = state.records(NAME)
    state.save_checkpoint(NAME, ["a", "b"], pos)
    ref = state.save_blob(NAME, b"payload")
    return pos, ref


def _second_name(path, tmp_path):
    """Give `path` a second name outside the store, as another process could."""
    os.link(path, tmp_path / f"elsewhere-{path.name}")


READERS = {
    # Each was a copy of the safe open that did not check st_nlink.
    "records": (lambda pos, ref: state.records(NAME), "log"),
    "records from a position": (lambda pos, ref: state.records(NAME, pos), "log"),
    "log_end": (lambda pos, ref: state.log_end(NAME), "log"),
    "load_checkpoint (its log)": (lambda pos, ref: state.load_checkpoint(NAME), "log"),
    "save_checkpoint (its log)": (lambda pos, ref: state.save_checkpoint(NAME, [], pos), "log"),
    "checkpoint_info": (lambda pos, ref: state.checkpoint_info(NAME), "checkpoint"),
    "load_checkpoint": (lambda pos, ref: state.load_checkpoint(NAME), "checkpoint"),
    "load_blob": (lambda pos, ref: state.load_blob(NAME, ref), "blob"),
    # The one copy that did check it.
    "append": (lambda pos, ref: state.append(NAME, "c"), "log"),
}


@pytest.mark.parametrize("reader", sorted(READERS))
def test_a_hard_linked_file_is_refused_by_every_reader(slurm_search_home, tmp_path, reader):
    pos, ref = _store_with_checkpoint_and_blob()
    call, which = READERS[reader]
    p = state.paths(NAME)
    path = {"log": p.log, "checkpoint": p.dir / "checkpoint.pickle", "blob": p.dir / "blobs" / ref.key}[which]
    assert path.exists()
    before = path.read_bytes()
    _second_name(path, tmp_path)
    with pytest.raises(state.UnsafeState, match="hard link") as info:
        call(pos, ref)
    assert info.value.path == path
    assert path.read_bytes() == before  # nothing written through it


def test_an_object_may_share_its_file_with_its_previous_version_only(slurm_search_home, tmp_path):
    # An object and its previous version are one file between keep_previous
    # and the rename (and for good when the rename was refused): two names
    # are allowed there, a third is not.
    state.create(NAME, {"n": 1})
    obj = state.paths(NAME).object
    os.link(obj, state.paths(NAME).previous)
    assert state.read(NAME) == {"n": 1}
    _second_name(obj, tmp_path)
    with pytest.raises(state.UnsafeState, match="hard link"):
        state.read(NAME)


def test_a_second_name_that_goes_away_at_once_is_waited_for(slurm_search_home, tmp_path):
    # A log is created by linking a finished temporary file and unlinking the
    # temporary name: a reader that opens it in between must not refuse it.
    import threading

    state.append(NAME, "a")
    log = state.paths(NAME).log
    twin = tmp_path / "twin"
    os.link(log, twin)
    threading.Timer(0.05, os.unlink, (twin,)).start()
    assert state.records(NAME)[0] == ["a"]
