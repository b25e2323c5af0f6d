"""Permissions of the model files the helpers write: those of the umask, as for any new file.

Some writers make files private whatever the umask (safetensors writes ``model.safetensors`` with
mode 0o600, through a temporary file), so a model folder copied to a shared place could not be
read by the account that serves it. :func:`apply_umask` gives what was written the modes an
ordinary new file or folder gets.
"""

from __future__ import annotations

import os
from pathlib import Path


def current_umask() -> int:
    """The process umask, read from ``/proc`` where there is one, so that it never changes.

    Elsewhere it is read by setting and restoring it; for that instant it is 0o077, so a file
    another thread creates meanwhile is too private at worst, never too open.
    """
    try:
        for line in Path("/proc/self/status").read_text(encoding="utf-8").splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def apply_umask(path: str | Path) -> Path:
    """Give ``path`` and, for a folder, everything in it the modes of the umask; return ``path``.

    Files get ``0o666 & ~umask`` (no execute bits: model folders hold data, not programs) and
    folders ``0o777 & ~umask``: 0o644 and 0o755 with the usual umask 0o022. Symbolic links are
    left alone (never followed).
    """
    path = Path(path)
    mask = current_umask()
    file_mode, dir_mode = 0o666 & ~mask, 0o777 & ~mask
    if path.is_symlink():
        return path
    if path.is_dir():
        # Bottom-up, so a folder's own mode changes only after everything in it.
        for root, dirs, files in os.walk(path, topdown=False):
            for name, mode in [*((f, file_mode) for f in files), *((d, dir_mode) for d in dirs)]:
                entry = os.path.join(root, name)
                if not os.path.islink(entry):
                    os.chmod(entry, mode)
    os.chmod(path, dir_mode if path.is_dir() else file_mode)
    return path
