"""Marks: empty files in a folder of a name, changed without the name's lock.

A mark is a file name in `<root>/<type>/<name>/<part>/`. Its writers change
it with one atomic operation each, on local and network filesystems alike:

  * `mark(name, part, new)` creates `new` (`O_EXCL`): False if it exists;
  * `mark(name, part, new, old)` renames `old` to `new`: False if `old` is
    gone (someone else renamed or removed it first).

So a mark is a compare-and-swap register that needs no lock: of two writers
that both start from `old`, exactly one succeeds. Readers list the folder
(`marks`), after asking the file server for its current contents (NFS
caches a folder's listing with its attributes; FUSE asks every time).

The session's lease renewals are marks (`slurm_search.session._beats`): a
holder renames its own mark forward, a taker renames it away, and neither
takes the session's lock to do so.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from . import _names
from ._files import fresh_stat
from ._objects import subdir

# (name, part, root) -> the folder, created and checked once per process.
_folders: dict[tuple[str, str, str], Path] = {}


def _folder(name: str, part: str, again: bool = False) -> Path:
    p = _names.paths(name)
    key = (p.name, part, str(p.root))
    found = None if again else _folders.get(key)
    if found is None:
        found = _folders[key] = subdir(name, part)
    return found


def _check_mark(mark: str) -> str:
    return _names.check_part(mark)


def mark(name: str, part: str, new: str, old: str | None = None) -> bool:
    """Create mark `new`, or rename mark `old` to `new`; False if another writer came first.

    Takes no lock. The folder is created on first use (with the store's mode).

    Args:
        name: `type:name`.
        part: the folder's name under the name's folder (e.g. `beats`).
        new: the mark to create (or to rename `old` to): letters, digits,
            `_`, `.`, `-`.
        old: the mark to rename, or None to create `new`.

    Returns:
        True if this call made the change; False if `new` already existed
        (create) or `old` no longer exists (rename).

    Raises:
        InvalidName: the name is malformed.
        UnsafeState: the folder is writable by others or owned by another user.
        OSError: from the filesystem.
    """
    folder = _folder(name, part)
    target = folder / _check_mark(new)
    if old is not None:
        try:
            os.rename(folder / _check_mark(old), target)
        except FileNotFoundError:
            return False
        return True
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except FileExistsError:
        return False
    except FileNotFoundError:
        # The folder went away (the name was deleted and made again): make it anew.
        folder = _folder(name, part, again=True)
        try:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        except FileExistsError:
            return False
    os.close(fd)
    return True


def marks(name: str, part: str) -> list[str]:
    """The marks in the folder as the file server has it now ([] without the folder).

    Takes no lock; one listing (plus a forced attribute refresh on a shared
    filesystem).
    """
    try:
        folder = _folder(name, part)
        fresh_stat(folder)
        return os.listdir(folder)
    except FileNotFoundError:
        return []


def unmark(name: str, part: str, old: str) -> None:
    """Remove mark `old` if it is there."""
    try:
        os.unlink(_folder(name, part) / _check_mark(old))
    except OSError as err:
        if err.errno != errno.ENOENT:
            raise
