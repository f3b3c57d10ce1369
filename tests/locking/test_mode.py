"""The store's lock mode: chosen by filesystem, recorded once, obeyed by every host."""

from __future__ import annotations

import os

import pytest

from slurm_search import locking
from slurm_search.locking import Filesystem, LockModeMismatch, choose_mode, mount_of
from slurm_search.locking._mode import forget_decisions

MOUNTINFO = """\
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
40 22 0:50 / /home rw,relatime shared:20 - nfs4 srv:/home rw,vers=4.2,local_lock=none,addr=10.0.0.1
41 22 0:51 / /scratch rw,relatime shared:21 - lustre 10.0.0.2@tcp:/fs rw,localflock,lazystatfs
42 22 0:52 / /old rw,relatime shared:22 - nfs srv:/old rw,vers=3,nolock,local_lock=all
43 22 0:53 / /home/u/sshfs rw,nosuid - fuse.sshfs u@h:/ rw,user_id=0
44 22 0:54 / /with\\040space rw - xfs /dev/sdb rw
"""


@pytest.fixture(autouse=True)
def fresh_decisions():
    forget_decisions()
    yield
    forget_decisions()


@pytest.mark.parametrize(
    "path, kind, mode",
    [
        ("/var/tmp/x", "ext4", "flock"),
        ("/home/u/hyperparameters", "nfs4", "flock"),
        ("/scratch/u", "lustre", "soft"),
        ("/old/u", "nfs", "soft"),
        ("/home/u/sshfs/deep/store", "fuse.sshfs", "soft"),  # the longest mount point wins
        ("/with space/store", "xfs", "flock"),
    ],
)
def test_the_mount_and_its_mode(path, kind, mode):
    fs = mount_of(path, MOUNTINFO)
    assert fs.type == kind
    assert choose_mode(fs)[0] == mode


@pytest.mark.parametrize(
    "kind, options, mode, why",
    [
        ("nfs4", (), "flock", "local_lock=none"),
        ("nfs4", ("local_lock=flock",), "soft", "only excludes this host"),
        ("nfs", ("local_lock=posix",), "flock", "arbitrates"),
        ("lustre", ("flock",), "flock", "coherent"),
        ("lustre", ("noflock",), "soft", "ENOSYS"),
        ("lustre", (), "soft", "may be node-local"),
        ("ceph", (), "flock", "metadata server"),
        ("fuse", (), "soft", "FUSE"),
        ("fuseblk", (), "soft", "FUSE"),
        ("beegfs", (), "soft", "not a filesystem whose flock is known"),
        ("tmpfs", (), "flock", "local"),
    ],
)
def test_choose_mode_table(kind, options, mode, why):
    chosen, reason = choose_mode(Filesystem("/m", kind, "src", options))
    assert chosen == mode
    assert why in reason


def test_unknown_filesystem_leases():
    assert choose_mode(None)[0] == "soft"


def test_the_first_process_records_the_mode_and_the_rest_obey(slurm_search_home, monkeypatch):
    monkeypatch.delenv("SLURM_SEARCH_LOCK")
    with locking.lock("exp:a"):
        pass
    record = locking.record_path()
    assert record == slurm_search_home / "lock-mode"
    first_line, why, by = record.read_text().splitlines()
    assert first_line == "flock"  # the tests' store is on a local disk
    assert why.startswith("# why: ") and "local filesystem" in why
    assert by.startswith("# by: ")
    assert not os.stat(record).st_mode & 0o022


@pytest.mark.parametrize("recorded, asked", [("flock", "soft"), ("soft", "flock")])
def test_a_host_asking_for_another_mode_is_refused(recorded, asked, slurm_search_home, monkeypatch):
    monkeypatch.setenv("SLURM_SEARCH_LOCK", recorded)
    with locking.lock("exp:a"):
        pass
    monkeypatch.setenv("SLURM_SEARCH_LOCK", asked)
    with pytest.raises(LockModeMismatch) as caught:
        with locking.lock("exp:a"):
            pass
    message = str(caught.value)
    assert f"locks with {recorded!r}" in message and f"SLURM_SEARCH_LOCK={asked}" in message
    assert "unset SLURM_SEARCH_LOCK" in message and f"--set-lock-mode {asked}" in message
    assert "\n" not in message


def test_a_host_that_sees_node_local_locks_refuses_a_flock_store(slurm_search_home, monkeypatch):
    monkeypatch.delenv("SLURM_SEARCH_LOCK")
    with locking.lock("exp:a"):
        pass  # recorded: flock (local disk)
    forget_decisions()
    # This host sees the same folder through sshfs (its flock is node-local).
    sshfs = Filesystem(str(slurm_search_home), "fuse.sshfs", "u@h:/", ("rw",))
    monkeypatch.setattr("slurm_search.locking._mode.mount_of", lambda root: sshfs)
    with pytest.raises(LockModeMismatch, match="this host sees fuse.sshfs"):
        with locking.lock("exp:a"):
            pass


def test_a_soft_store_stays_soft_where_flock_would_do(slurm_search_home, monkeypatch):
    monkeypatch.setenv("SLURM_SEARCH_LOCK", "soft")
    with locking.lock("exp:a"):
        pass
    monkeypatch.delenv("SLURM_SEARCH_LOCK")
    forget_decisions()
    assert locking.lock_mode() == "soft"  # agreement matters, and leases work everywhere


def test_set_store_mode_rewrites_the_record(slurm_search_home, monkeypatch):
    monkeypatch.delenv("SLURM_SEARCH_LOCK")
    assert locking.lock_mode() == "flock"
    assert locking.set_store_mode("soft").mode == "soft"
    assert locking.lock_mode() == "soft"
    assert locking.set_store_mode("auto").mode == "flock"


@pytest.mark.parametrize("value", ["nfs", "1"])
def test_bad_settings_are_one_line(value, monkeypatch):
    monkeypatch.setenv("SLURM_SEARCH_LOCK", value)
    with pytest.raises(locking.InvalidEnvironmentSetting, match="use one of auto, flock, soft"):
        locking.lock_mode()


@pytest.mark.parametrize("value", ["-1", "0", "inf", "nan", "x"])
def test_bad_grace_is_refused(value, monkeypatch):
    monkeypatch.setenv("SLURM_SEARCH_LOCK", "soft")
    monkeypatch.setenv("SLURM_SEARCH_LOCK_GRACE", value)
    with pytest.raises(locking.InvalidEnvironmentSetting, match="SLURM_SEARCH_LOCK_GRACE"):
        with locking.lock("exp:a"):
            pass


def test_a_tampered_record_is_refused(slurm_search_home, monkeypatch):
    monkeypatch.delenv("SLURM_SEARCH_LOCK")
    locking.lock_mode()
    forget_decisions()
    locking.record_path().write_text("nfs\n")
    with pytest.raises(locking.BadModeRecord, match="names no lock mode"):
        locking.lock_mode()
