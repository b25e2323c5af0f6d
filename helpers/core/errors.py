"""The errors the helpers raise about exports; each message names the file and the fix."""

from __future__ import annotations


class ExportError(FileNotFoundError):
    """An export folder or tarball that cannot be loaded; the message names what is missing."""


class BackendError(ExportError):
    """A backend that cannot be used for this export; the message names the cause and the fix."""
