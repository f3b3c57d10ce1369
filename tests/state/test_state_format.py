"""Files written by an earlier version still load: the on-disk format is pinned."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from slurm_search import state

DATA = Path(__file__).parent / "data" / "store"


def _install(home: Path) -> None:
    shutil.copytree(DATA, home)
    # A checkout does not keep the store's modes; give them back.
    for folder, _dirs, files in os.walk(home):
        os.chmod(folder, 0o700)
        for f in files:
            os.chmod(os.path.join(folder, f), 0o600)


def test_version_0_1_0_files_load(slurm_search_home):
    _install(slurm_search_home)
    assert state.read("exp:pinned") == {
        "format": "slurm-search-state 0.1.0",
        "ints": [1, 2, 3],
        "text": "h\u00e9llo",
        "nested": {"a": (1, 2.5, None, True)},
    }
    recs, pos = state.records("search:pinned")
    assert recs == [{"tid": 0, "loss": 0.5}, {"tid": 1, "loss": None}, "third"]
    assert pos.offset == (DATA / "search" / "pinned" / "records.log").stat().st_size
    # And this version goes on writing them.
    state.append("search:pinned", "fourth")
    assert state.records("search:pinned", pos)[0] == ["fourth"]
    with state.transaction("exp:pinned") as box:
        box.value["ints"].append(4)
    assert state.read("exp:pinned")["ints"] == [1, 2, 3, 4]
    assert state.names() == ["exp:pinned"]


def test_the_log_format_is_the_documented_one():
    data = (DATA / "search" / "pinned" / "records.log").read_bytes()
    assert data[:8] == b"SSLOG01\n"
    # File header 20 bytes; each frame: u64 length, crc32, header crc32, payload.
    first_length = int.from_bytes(data[20:28], "little")
    second = 20 + 16 + first_length
    second_length = int.from_bytes(data[second : second + 8], "little")
    assert second + 16 + second_length == len(data)
