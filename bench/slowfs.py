"""A FUSE passthrough that adds a fixed latency to every operation: a model of NFS.

    python bench/slowfs.py BACKING MOUNTPOINT [--meta-ms 1] [--data-ms 0.5] [--fsync-ms 5]

Every request the kernel sends to the filesystem first sleeps, then is done
on BACKING (a local folder). Requests are served by many threads, as an NFS
server serves many clients' RPCs at once, so one process's wait does not
delay another's.

The model (per request that reaches the file server):

| operation | latency | what it stands for |
|---|---:|---|
| metadata: getattr, lookup (via getattr), access, open, create, mkdir, unlink, rmdir, rename, link, symlink, readlink, readdir, chmod, chown, truncate, utimens, statfs | 1 ms | one NFS RPC (GETATTR, LOOKUP, ACCESS, OPEN, CREATE, REMOVE, RENAME, READDIR, SETATTR...) to a busy server over a datacentre network: a round trip of 0.1-0.3 ms plus the server's queue and its own disk lookups |
| read, write | 0.5 ms | one READ / WRITE RPC of a small payload (the client sends small writes unstable and commits them later) |
| fsync, and release of a written file | 5 ms | COMMIT: the server makes the data stable on its disks (a RAID of disks, or an SSD behind a busy server); close-to-open semantics flush at close too |

Where the numbers come from: NFS round trips on 1-10 GbE are 0.1-0.3 ms,
and a loaded filer answers metadata RPCs in 0.5-2 ms (the NFS clients'
`nfsiostat` "avg RTT" and "avg exe" columns on shared HPC home and project
filesystems sit in that range); a COMMIT waits for stable storage, 1-10 ms
(an SSD-backed or battery-backed server at the low end, spinning disks at the
high end). The bench takes the middle of each range. The kernel's FUSE
attribute and entry caches are kept at their defaults (1 s), close to an NFS
client's attribute cache with close-to-open revalidation.

Locks: `flock` on this mount is the kernel's, local to this machine (as on
one NFS client); the slurm-search store on a FUSE filesystem takes lease-file
locks (`auto` cannot know FUSE's locks are coherent), whose every step pays
the latencies above. Optuna's journal file takes its own symlink lock.
"""

from __future__ import annotations

import argparse
import errno
import os
import threading
import time

from fuse import FUSE, FuseOSError, Operations  # fusepy (pip install fusepy): bench only


class SlowPassthrough(Operations):
    """Passthrough to `root`, sleeping before each request."""

    def __init__(self, root: str, meta: float, data: float, sync: float) -> None:
        self.root = os.path.realpath(root)
        self.meta, self.data, self.sync = meta, data, sync
        self._written: set[int] = set()
        self._mutex = threading.Lock()

    def _full(self, path: str) -> str:
        return os.path.join(self.root, path.lstrip("/"))

    def _wait(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)

    def __call__(self, op, *args):
        try:
            return super().__call__(op, *args)
        except OSError as err:
            raise FuseOSError(err.errno or errno.EIO) from err

    # -- metadata ----------------------------------------------------------

    def access(self, path, mode):
        self._wait(self.meta)
        if not os.access(self._full(path), mode):
            raise FuseOSError(errno.EACCES)

    def chmod(self, path, mode):
        self._wait(self.meta)
        return os.chmod(self._full(path), mode)

    def chown(self, path, uid, gid):
        self._wait(self.meta)
        return os.chown(self._full(path), uid, gid)

    def getattr(self, path, fh=None):
        self._wait(self.meta)
        st = os.lstat(self._full(path))
        return {key: getattr(st, key) for key in (
            "st_atime", "st_ctime", "st_gid", "st_mode", "st_mtime", "st_nlink", "st_size", "st_uid", "st_ino")}

    def readdir(self, path, fh):
        self._wait(self.meta)
        return [".", "..", *os.listdir(self._full(path))]

    def readlink(self, path):
        self._wait(self.meta)
        return os.readlink(self._full(path))

    def mknod(self, path, mode, dev):
        self._wait(self.meta)
        return os.mknod(self._full(path), mode, dev)

    def rmdir(self, path):
        self._wait(self.meta)
        return os.rmdir(self._full(path))

    def mkdir(self, path, mode):
        self._wait(self.meta)
        return os.mkdir(self._full(path), mode)

    def statfs(self, path):
        self._wait(self.meta)
        st = os.statvfs(self._full(path))
        return {key: getattr(st, key) for key in (
            "f_bavail", "f_bfree", "f_blocks", "f_bsize", "f_favail", "f_ffree", "f_files", "f_flag",
            "f_frsize", "f_namemax")}

    def unlink(self, path):
        self._wait(self.meta)
        return os.unlink(self._full(path))

    def symlink(self, name, target):
        self._wait(self.meta)
        return os.symlink(target, self._full(name))

    def rename(self, old, new):
        self._wait(self.meta)
        return os.rename(self._full(old), self._full(new))

    def link(self, target, name):
        self._wait(self.meta)
        return os.link(self._full(name), self._full(target))

    def utimens(self, path, times=None):
        self._wait(self.meta)
        return os.utime(self._full(path), times)

    def truncate(self, path, length, fh=None):
        self._wait(self.meta)
        if fh is not None:
            return os.ftruncate(_fh(fh), length)
        return os.truncate(self._full(path), length)

    # -- files (raw_fi: the open flags reach us, so O_EXCL keeps its meaning) --

    def open(self, path, fi):
        self._wait(self.meta)
        fi.fh = os.open(self._full(path), fi.flags & ~os.O_NOFOLLOW)
        return 0

    def create(self, path, mode, fi):
        self._wait(self.meta)
        fi.fh = os.open(self._full(path), (fi.flags | os.O_CREAT) & ~os.O_NOFOLLOW, mode)
        return 0

    def read(self, path, length, offset, fi):
        self._wait(self.data)
        return os.pread(_fh(fi), length, offset)

    def write(self, path, buf, offset, fi):
        self._wait(self.data)
        fh = _fh(fi)
        with self._mutex:
            self._written.add(fh)
        return os.pwrite(fh, buf, offset)

    def flush(self, path, fi):
        return 0

    def release(self, path, fi):
        fh = _fh(fi)
        with self._mutex:
            dirty = fh in self._written
            self._written.discard(fh)
        if dirty:
            self._wait(self.sync)  # close-to-open: the client flushes (and commits) at close
        os.close(fh)
        return 0

    def fsync(self, path, datasync, fi):
        self._wait(self.sync)
        fh = _fh(fi)
        with self._mutex:
            self._written.discard(fh)
        os.fsync(fh)
        return 0

    def fsyncdir(self, path, datasync, fi):
        self._wait(self.sync)
        return 0


def _fh(fi):
    return getattr(fi, "fh", fi)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("backing")
    parser.add_argument("mountpoint")
    parser.add_argument("--meta-ms", type=float, default=1.0)
    parser.add_argument("--data-ms", type=float, default=0.5)
    parser.add_argument("--fsync-ms", type=float, default=5.0)
    args = parser.parse_args()
    ops = SlowPassthrough(args.backing, args.meta_ms / 1000, args.data_ms / 1000, args.fsync_ms / 1000)
    FUSE(ops, args.mountpoint, foreground=True, nothreads=False, raw_fi=True, fsname="slowfs")


if __name__ == "__main__":
    main()
