"""The one folder creator of the store (the lock folder here, the store's folders in state)."""

from __future__ import annotations

import errno
import os
from pathlib import Path

from .settings import dir_mode


def ensure_dir(path: Path) -> Path:
    """Create ``path`` and its missing parents with `dir_mode` and return it.

    An existing folder is left as it is (the store checks the folders it
    reads from). The mode is set exactly, whatever the umask.

    Raises:
        NotADirectoryError: ``path`` or a folder above it is a file (its
            ``filename`` is that file).
    """
    mode = dir_mode()
    missing = []
    current = Path(path)
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    if current.exists() and not current.is_dir():
        # Said about the file in the way, not about a temporary file under it.
        raise NotADirectoryError(errno.ENOTDIR, "a file where a folder should be", str(current))
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=mode)
        except FileExistsError:
            continue
        os.chmod(folder, mode)
    return Path(path)
