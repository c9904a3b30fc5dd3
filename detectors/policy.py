"""Building blocks the policy detectors share: glob patterns, elevation scopes, RFC 3339
attributes.

Resource patterns are shell globs matched case-sensitively against the whole resource
(``fnmatch`` rules: ``*`` also crosses ``/``, ``?`` is one character, ``[abc]`` a class).
They are checked when the config is loaded and compiled to one regex per list, so matching
is one ``re`` call.

>>> match = compile_globs(("db/prod/*", "s3/reports"))
>>> bool(match("db/prod/customers")), bool(match("db/staging/orders"))
(True, False)
>>> check_glob("db/[prod")
Traceback (most recent call last):
...
ValueError: 'db/[prod': '[' at position 3 is never closed
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import datetime
from fnmatch import translate
from functools import lru_cache
from typing import Annotated, Any

from pydantic import AfterValidator

from detectors.events import AccessEvent

__all__ = [
    "Glob",
    "attribute_time",
    "check_glob",
    "compile_globs",
    "grant_scope",
    "scope_covers",
]

Matcher = Callable[[str], Any]


def check_glob(pattern: str) -> str:
    """Return ``pattern`` if it is a usable glob; raise ValueError naming the problem."""
    if not pattern or pattern != pattern.strip():
        raise ValueError(f"{pattern!r}: a pattern must be non-empty, without surrounding spaces")
    i, n = 0, len(pattern)
    while i < n:
        if pattern[i] != "[":
            i += 1
            continue
        start = i
        j = i + 1
        if j < n and pattern[j] == "!":
            j += 1
        if j < n and pattern[j] == "]":  # a leading ']' is a literal member
            j += 1
        while j < n and pattern[j] != "]":
            j += 1
        if j >= n:
            raise ValueError(f"{pattern!r}: '[' at position {start} is never closed")
        body = pattern[start + 1 : j].lstrip("!")
        for k in range(1, len(body) - 1):
            if body[k] == "-" and body[k - 1] > body[k + 1]:
                raise ValueError(f"{pattern!r}: range {body[k - 1]}-{body[k + 1]} is reversed "
                                 "and matches nothing")
        i = j + 1
    return pattern


#: A validated glob pattern (in a pydantic model the error names the field).
Glob = Annotated[str, AfterValidator(check_glob)]


def compile_globs(patterns: Iterable[str]) -> Matcher:
    """One compiled matcher for any of ``patterns`` (none: matches nothing)."""
    parts = [translate(p) for p in patterns]
    if not parts:
        return lambda _value: None
    return re.compile("|".join(parts)).match


@lru_cache(maxsize=1024)
def _scope_matcher(scope: str) -> Matcher:
    return compile_globs((scope,))


def grant_scope(event: AccessEvent) -> str:
    """What an ``elevate`` event grants: ``attributes.scope``, else its resource, else its
    environment, else everything (``*``)."""
    scope = event.attributes.get("scope")
    if isinstance(scope, str) and scope.strip():
        return scope.strip()
    return event.resource or event.environment or "*"


def scope_covers(scope: str, event: AccessEvent) -> bool:
    """A scope covers an event when it names the event's environment or, as a glob, matches
    its resource. ``*`` covers everything.

    >>> from detectors.testing import make_event
    >>> ev = make_event(action="modify", resource="db/prod/orders", environment="production")
    >>> scope_covers("production", ev), scope_covers("db/prod/*", ev), scope_covers("s3/*", ev)
    (True, True, False)
    """
    if scope == "*" or scope == event.environment:
        return True
    return event.resource is not None and bool(_scope_matcher(scope)(event.resource))


def attribute_time(event: AccessEvent, name: str) -> float | None:
    """An RFC 3339 timestamp attribute as POSIX seconds; None if missing, unreadable or naive."""
    raw = event.attributes.get(name)
    if not isinstance(raw, str):
        return None
    try:
        when = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return None if when.tzinfo is None else when.timestamp()
