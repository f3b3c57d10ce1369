"""Two FUSE views of one folder: two "hosts" sharing a filesystem, on one machine.

A backing folder is mounted twice with bindfs. Each view is its own FUSE
filesystem, so what its locks do depends on how it is mounted:

* ``coherent``: ``--multithreaded --enable-lock-forwarding``: flock is
  forwarded to the backing folder, so the views exclude each other (NFSv4,
  GPFS, Lustre ``-o flock``).
* ``node-local``: plain bindfs: each view's kernel keeps its own flocks (NFS
  ``local_lock=all``, Lustre ``localflock``, sshfs).
* ``cached``: node-local, and the kernel caches attributes and names for 2 s
  (FUSE ``attr_timeout``/``entry_timeout``; NFS ``actimeo`` is the like).

A flock that fails with ENOSYS (Lustre ``noflock``, NFSv3 without lockd) is
made with strace's fault injection on the real system call: ``ENOSYS_FLOCK``
is the command prefix (``strace -f -e inject=flock:error=ENOSYS``).

Needs root, /dev/fuse, bindfs and strace (``make test`` installs them as
root); without them the tests skip with the reason, and with
``SLURM_SEARCH_REQUIRE_FUSE=1`` (as CI sets) they fail instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

KINDS = ("coherent", "node-local", "cached")

_OPTIONS = {
    "coherent": ["--multithreaded", "--enable-lock-forwarding"],
    "node-local": [],
    "cached": ["-o", "attr_timeout=2,entry_timeout=2"],
}

ENOSYS_FLOCK = ["strace", "-f", "-qq", "-o", "/dev/null", "-e", "trace=flock", "-e", "inject=flock:error=ENOSYS"]


def missing() -> str | None:
    """Why two views cannot be mounted here, or None."""
    if os.geteuid() != 0:
        return "mounting FUSE views needs root"
    if not os.path.exists("/dev/fuse"):
        return "there is no /dev/fuse"
    for tool in ("bindfs", "strace"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (make test installs it as root: apt-get install {tool})"
    return None


def require() -> None:
    """Skip (or, with SLURM_SEARCH_REQUIRE_FUSE=1, fail) when views cannot be mounted."""
    why = missing()
    if why is None:
        return
    if os.environ.get("SLURM_SEARCH_REQUIRE_FUSE") == "1":
        pytest.fail(f"SLURM_SEARCH_REQUIRE_FUSE=1 but {why}")
    pytest.skip(why)


def _unmount(view: Path) -> None:
    for command in (["fusermount3", "-u", str(view)], ["fusermount", "-u", str(view)], ["umount", "-l", str(view)]):
        if shutil.which(command[0]) and subprocess.run(command, capture_output=True).returncode == 0:
            return


@contextmanager
def mounted(tmp_path: Path, kind: str, count: int = 2) -> Iterator[list[Path]]:
    """Mount ``count`` views of one new backing folder; yield their paths."""
    require()
    back = tmp_path / "backing"
    back.mkdir(mode=0o700)
    views = []
    try:
        for i in range(count):
            view = tmp_path / f"view{i}"
            view.mkdir(mode=0o700)
            subprocess.run(
                ["bindfs", "--no-allow-other", *_OPTIONS[kind], str(back), str(view)],
                check=True,
                capture_output=True,
            )
            views.append(view)
        deadline = time.monotonic() + 10
        while not all(os.path.ismount(v) for v in views):
            assert time.monotonic() < deadline, "bindfs did not mount"
            time.sleep(0.01)
        yield views
    finally:
        for view in views:
            _unmount(view)
