"""Errors of the archive.

::

    AccessGuardError (detectors.errors)
    └── PipelineError (pipeline.errors)
        └── ArchiveError        the archive cannot be written or read as asked
            └── ArchiveKeyError a signing or public key is missing, unreadable or of the wrong kind

Tampering found by :func:`pipeline.archive.verify` is not an error: it is the verifier's result
(a list of problems), so an audit run reports every problem instead of stopping at the first.
"""

from __future__ import annotations

from pipeline.errors import PipelineError

__all__ = ["ArchiveError", "ArchiveKeyError"]


class ArchiveError(PipelineError):
    """The archive cannot be written or read as asked; the message is one line."""


class ArchiveKeyError(ArchiveError):
    """A key is missing, unreadable, or not an Ed25519 key."""
