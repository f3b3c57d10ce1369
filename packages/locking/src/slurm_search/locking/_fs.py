"""What filesystem holds a path, and which lock mode is safe on it.

``mount_of(path)`` reads the mount table (``/proc/self/mountinfo``) and
returns the mount that holds ``path``: its type, source and options.
``choose_mode(fs)`` is a pure function from that to a lock mode and the
reason, one row per filesystem kind of the package README's table:

* ``flock`` where flock(2) is known to exclude every process that can open
  the file: a local filesystem (only this host sees it), NFS whose client
  forwards flock to the server (``local_lock=none`` or ``posix``, the
  default; nfs(5)), Lustre mounted with ``flock`` (mount.lustre(8)), CephFS
  (its MDS arbitrates flock across clients).
* ``soft`` (the lease file) where flock is node-local or refused, and where
  we do not know: NFS with ``local_lock=all|flock``, Lustre with
  ``localflock``, ``noflock`` or neither option, every FUSE filesystem (sshfs,
  bindfs, ...: the kernel handles flock locally unless the daemon forwards
  it, which we cannot see), and anything not in the table.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Filesystem", "mount_of", "choose_mode"]

MOUNTINFO = "/proc/self/mountinfo"

# Filesystems only one host can mount read-write: flock is exact there.
_LOCAL = frozenset(
    {
        "ext2", "ext3", "ext4", "xfs", "btrfs", "tmpfs", "ramfs", "overlay",
        "zfs", "f2fs", "jfs", "reiserfs", "bcachefs", "hfsplus", "vfat", "exfat",
    }
)  # fmt: skip
_NFS = frozenset({"nfs", "nfs4"})


@dataclass(frozen=True)
class Filesystem:
    """The mount that holds a path.

    Attributes:
        mount_point: where it is mounted.
        type: the filesystem type (``ext4``, ``nfs4``, ``fuse.sshfs``, ...).
        source: what is mounted (a device, ``server:/export``, ...).
        options: the mount's and the superblock's options, in that order.
    """

    mount_point: str
    type: str
    source: str
    options: tuple[str, ...]

    @property
    def local(self) -> bool:
        """Whether only this host mounts it (no other host's writes to miss)."""
        return self.type in _LOCAL

    def option(self, key: str) -> str | None:
        """The value of option ``key=value`` (``""`` for a bare flag), or None."""
        found = None
        for opt in self.options:
            name, _, value = opt.partition("=")
            if name == key:
                found = value
        return found


def _unescape(field: str) -> str:
    # mountinfo escapes space, tab, newline and backslash as \ooo.
    if "\\" not in field:
        return field
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and len(field[i + 1 : i + 4]) == 3 and field[i + 1 : i + 4].isdigit():
            out.append(chr(int(field[i + 1 : i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def parse_mountinfo(text: str) -> list[Filesystem]:
    """The mounts of a mountinfo text, in its order (later ones on top)."""
    mounts = []
    for line in text.splitlines():
        head, sep, tail = line.partition(" - ")
        if not sep:
            continue
        fields, rest = head.split(), tail.split()
        if len(fields) < 6 or len(rest) < 2:
            continue
        options = tuple(fields[5].split(",")) + tuple((rest[2] if len(rest) > 2 else "").split(","))
        mounts.append(Filesystem(_unescape(fields[4]), rest[0], _unescape(rest[1]), options))
    return mounts


def _resolved(path: Path | str) -> Path:
    """``path`` with the links of its existing part resolved (the rest as given)."""
    path = Path(os.path.abspath(path))
    missing: list[str] = []
    while not path.exists() and path != path.parent:
        missing.append(path.name)
        path = path.parent
    return path.resolve().joinpath(*reversed(missing))


def mount_of(path: Path | str, mountinfo: str | None = None) -> Filesystem | None:
    """The mount holding ``path`` (or its nearest existing parent); None if unknown."""
    if mountinfo is None:
        try:
            with open(MOUNTINFO) as f:
                mountinfo = f.read()
        except OSError:
            return None
    target = str(_resolved(path))
    best: Filesystem | None = None
    for fs in parse_mountinfo(mountinfo):
        point = fs.mount_point.rstrip("/") or "/"
        inside = target == point or target.startswith(point + "/") or point == "/"
        # The longest mount point wins; among equals the later one (on top).
        if inside and (best is None or len(point) >= len(best.mount_point.rstrip("/") or "/")):
            best = fs
    return best


def choose_mode(fs: Filesystem | None) -> tuple[str, str]:
    """The safe lock mode on ``fs`` and why, as (mode, reason)."""
    if fs is None:
        return "soft", "the filesystem is unknown (no mount table): lease files work everywhere"
    kind = fs.type
    if kind in _LOCAL:
        return "flock", f"{kind} is a local filesystem: flock excludes every process that sees it"
    if kind in _NFS:
        local_lock = fs.option("local_lock") or "none"
        if local_lock in ("all", "flock"):
            return "soft", f"{kind} with local_lock={local_lock}: flock only excludes this host"
        return "flock", f"{kind} with local_lock={local_lock}: the server arbitrates flock across hosts"
    if kind == "lustre":
        if fs.option("flock") is not None:
            return "flock", "lustre mounted with flock: coherent across clients"
        if fs.option("localflock") is not None:
            return "soft", "lustre mounted with localflock: flock only excludes this host"
        if fs.option("noflock") is not None:
            return "soft", "lustre mounted with noflock: flock fails with ENOSYS"
        return "soft", "lustre without the flock option: flock may be node-local or refused"
    if kind in ("ceph", "fuse.ceph-fuse"):
        return "flock", f"{kind}: the metadata server arbitrates flock across clients"
    if kind == "fuse" or kind.startswith(("fuse.", "fuseblk")):
        return "soft", f"{kind} (FUSE): flock is node-local unless the daemon forwards it"
    return "soft", f"{kind} is not a filesystem whose flock is known to be coherent across hosts"
