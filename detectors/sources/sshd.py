"""``sshd``: syslog auth logs (auth.log, secure, messages) -> login and elevation events.

Lines look like ``Mar  3 14:02:11 web1 sshd[1234]: <message>`` (BSD syslog: no year, no zone;
both come from :class:`SourceOptions`) or start with an RFC 3339 timestamp (rsyslog's
high-precision format). Programs read: ``sshd`` (also ``sshd-session``, ``sshd-auth``),
``sudo`` and ``su``; every other line is skipped with a reason.

**Events.** ``login`` (success/failure) per sshd authentication attempt, ``logout`` on
``Disconnected from user X``, ``elevate`` per sudo command or su switch (success; failure for
wrong passwords; denied when policy says no). The user is the attempted login name (the invoking
user for sudo/su): ``(empty)`` if the client sent an empty name, ``(unknown)`` if no line named
one. ``resource`` is ``host/<hostname>``; ``session_id`` is ``<host>:<pid>``; the method, port,
pid and ``invalid_user`` go to ``attributes``; a public key's fingerprint is the
``credential_id``; a hostname where an IP should be (``UseDNS``) is ``attributes.source_host``.
Every line that makes no event of its own is yielded as a ``Skipped`` with its reason.

**Grouping: one attempt is one event.** sshd logs one connection under one pid, so lines are
grouped by (host, pid) into a connection:

1. An *attempt line* (``Failed <method> for ...`` or ``Accepted <method> for ...``) is one
   event, always. ``message repeated N times: [ Failed ... ]`` is N attempts.
2. *Context lines* never make an event of their own while an attempt line follows:
   ``Invalid user X from IP``, ``Failed none for ...`` (the probe every client sends first),
   PAM ``authentication failure; ... rhost=IP user=X``, ``check pass``, ``Partial ...``
   (first factor of a multi-factor login; the final ``Accepted`` gets ``mfa`` = its method).
   They fill in the connection's user and IP and open a *pending* attempt, which the next
   attempt line absorbs. So ``Invalid user`` + PAM + ``Failed password`` is one failure.
3. A *connection end* (``Disconnected from``/``Connection closed by``/``Connection reset by``/
   ``Disconnecting``/``maximum authentication attempts exceeded``) closes the connection. If no
   attempt was counted for it but a user is known (a pending context line, or the end line
   names ``authenticating user X``/``invalid user X``), that is one failed attempt: a client
   that asked for X and went away without succeeding (typical of scanners and key probes).
   Later end lines for the same closed connection are absorbed.
4. ``PAM N more authentication failures`` summarises attempts already counted: skipped.
5. A connection silent for ``connection_idle_seconds`` of log time, pushed out by
   ``max_open_connections``, or still open when the input ends is closed the same way (rule 3,
   without an end line). A new attempt on a closed connection's pid starts a new connection.

**Years.** The year of a BSD timestamp starts at ``options.year``; a line whose month goes
from December to January moves to the next year. A December line straight after January lines
(hosts interleaved around New Year) keeps the previous year. Local times are read in
``options.tz``; an ambiguous local time (DST fold) takes the first occurrence.

**Ids** hash the host, pid, UTC time, the raw line, the sub-attempt index and how many identical
lines came before in the same second: a replay of the same lines gives the same ids, wherever
the replay starts.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from hashlib import blake2b as _blake2b
from typing import Any

from detectors.errors import SourceError
from detectors.events import AccessEvent
from detectors.sources.base import (
    Parsed,
    Skipped,
    SourceOptions,
    ip_or_none,
    trusted_event,
)

__all__ = ["parse_sshd"]

_HEADER = re.compile(
    r"(?:([A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d)|(\d{4}-\d\d-\d\dT\S+)) "
    r"(\S+) ([^\s\[:]+)(?:\[(\d+)\])?: (.*)"
)
_ATTEMPT = re.compile(
    r"(Failed|Accepted|Partial) (\S+) for (invalid user )?(.*?) from (\S+) port (\d+)"
    r"(?: ssh\d?)?(?::\s?(.*))?$"
)
_INVALID = re.compile(r"Invalid user (.*?) from (\S+)(?: port (\d+))?$")
_PAM_FAIL = re.compile(r"rhost=(\S*)(?:\s+user=(.+))?$")
_END = re.compile(
    r"(?:Disconnected from|Connection closed by|Connection reset by|Disconnecting) "
    r"(?:(authenticating user|invalid user|user) (.*?) )?(\S+) port (\d+)(.*)"
)
_MAXAUTH = re.compile(
    r"error: maximum authentication attempts exceeded for (invalid user )?(.*?) "
    r"from (\S+) port (\d+)"
)
_REPEATED = re.compile(r"message repeated (\d+) times: \[ ?(.*?) ?\]$")
_SUDO = re.compile(r"\s*(\S+) : (.*)$")
_SU_UTIL = re.compile(r"(FAILED SU )?\(to (\S+)\) (\S+) on (\S+)$")
_SU_SHADOW = re.compile(r"(Successful|FAILED) su for (\S+) by (\S+)$")

_MONTHS = {m: i for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}
_SSHD = frozenset({"sshd", "sshd-session", "sshd-auth"})
_END_WORDS = frozenset({"Disconnected", "Connection", "Disconnecting"})
_MAX_REPEAT = 1000
_DENIED_SUDO = ("NOT in sudoers", "not in sudoers", "not allowed", "NOT allowed")

_CONTEXT = "sshd: connection context (merged)"
_ENDED = "sshd: connection end"


class _Conn:
    """One sshd connection (host, pid) while it is open.

    Class attributes are the defaults (no ``__init__``: connections are made per line, and a
    bare instance is several times cheaper); only what a line sets lands on the instance.
    """

    user: str | None = None
    ip: str | None = None
    port: int | None = None
    invalid = False
    attempts = 0
    ended = False
    partial: tuple[str, ...] = ()
    # First context line of an attempt not yet counted: (when, raw).
    pending: tuple[datetime, str] | None = None
    last = 0.0
    # ip_or_none(ip), computed once per connection.
    checked_ip: str | None = None
    source_ip: str | None = None


def parse_sshd(lines: Iterable[str], options: SourceOptions) -> Iterator[Parsed]:
    """Parse syslog auth lines; see the module docstring for the grouping rule.

    >>> opts = SourceOptions(year=2026)
    >>> out = list(parse_sshd([
    ...     "Mar  3 14:02:11 web1 sshd[77]: Invalid user admin from 203.0.113.5 port 4711",
    ...     "Mar  3 14:02:13 web1 sshd[77]: Failed password for invalid user admin"
    ...     " from 203.0.113.5 port 4711 ssh2",
    ... ], opts))
    >>> [(e.user, e.action, e.outcome) for e in out if isinstance(e, AccessEvent)]
    [('admin', 'login', 'failure')]
    """
    return _SyslogReader(options).run(lines)


class _SyslogReader:
    """Reads one input; the current line's fields live on the reader while it is handled."""

    def __init__(self, options: SourceOptions) -> None:
        self.opts = options
        self.zone = options.zone
        self.year = options.year
        self.month = 0
        self.rolled = False
        self.times: dict[str, tuple[int, int | None, datetime, float]] = {}
        self.conns: OrderedDict[tuple[str, str], _Conn] = OrderedDict()
        self.dups: dict[tuple[str, int], int] = {}
        self.dup_ts = 0.0
        self.out: list[Parsed] = []
        self.validate = options.validate
        self.checked_at = 0.0
        # The line being handled.
        self.no = 0
        self.raw = ""
        self.when = datetime.min.replace(tzinfo=UTC)
        self.ts = 0.0
        self.host = ""
        self.pid = ""

    # -- driver -------------------------------------------------------------------------

    def run(self, lines: Iterable[str]) -> Iterator[Parsed]:
        out, times = self.out, self.times
        for no, line in enumerate(lines, 1):
            raw = line.rstrip("\r\n")
            # Fast path, no regex: a BSD stamp seen before (so known valid) and a plain
            # "host prog[pid]: " header. Anything else goes through header() and _HEADER.
            hit = times.get(raw[:15])  # every entry is valid: see bsd_time
            parts: tuple[datetime, float, str, str, str, str] | str | None = None
            if hit is not None:
                host, _, rest = raw[16:].partition(" ")
                tag, sep, msg = rest.partition(": ")
                prog, bracket, pid = tag.partition("[")
                if bracket:
                    pid = pid[:-1] if pid[-1:] == "]" else ""
                if (sep and host and prog and raw[15] == " " and (pid.isdigit() or not bracket)
                        and ":" not in prog and " " not in tag):
                    parts = hit[2], hit[3], host, prog, pid, msg
            if parts is None:
                parts = self.header(raw)
            if parts is None:
                blank = not raw.strip()
                yield Skipped(no, "blank line" if blank else "syslog: not a syslog line", raw,
                              bad=not blank)
                continue
            if isinstance(parts, str):
                yield Skipped(no, "syslog: bad timestamp", raw, bad=True, detail=parts)
                continue
            when, ts, host, prog, pid, msg = parts
            if prog in _SSHD:
                self.no, self.raw, self.when, self.ts, self.host, self.pid = (
                    no, raw, when, ts, host, pid)
                self.sshd(msg, 0)
                if ts != self.checked_at:  # idle expiry moves in whole seconds anyway
                    self.checked_at = ts
                    self.expire(ts)
            elif prog == "sudo" or prog == "su":
                self.no, self.raw, self.when, self.ts, self.host, self.pid = (
                    no, raw, when, ts, host, pid)
                self.sudo(msg) if prog == "sudo" else self.su(msg)
            else:
                yield Skipped(no, "syslog: other program", raw)
                continue
            if len(out) == 1:
                yield out.pop()
            elif out:
                yield from out
                out.clear()
        for key in list(self.conns):
            self.close(key, self.conns.pop(key), "input ended")
        yield from out
        out.clear()

    def header(self, raw: str) -> tuple[datetime, float, str, str, str, str] | str | None:
        """(time, POSIX time, host, program, pid, message); the stamp text if its time is
        impossible; None if the line is not syslog."""
        m = _HEADER.match(raw)
        if m is None:
            return None
        bsd, iso, host, prog, pid, msg = m.groups()
        timed = self.bsd_time(bsd) if bsd else self.iso_time(iso)
        if timed is None:
            return bsd or iso
        return timed[0], timed[1], host, prog, pid or "", msg

    # -- time ---------------------------------------------------------------------------

    def bsd_time(self, text: str) -> tuple[datetime, float] | None:
        # The cache is emptied whenever the current month or year moves, so what it holds
        # was worked out under the current ones and stays right.
        hit = self.times.get(text)
        if hit is not None:
            return hit[2], hit[3]
        if self.year is None:
            raise SourceError("BSD syslog timestamps carry no year: set the year option")
        month = _MONTHS.get(text[:3])
        if month is None:
            return None
        year = self.year
        if month == 1 and self.month == 12:
            year = self.year = year + 1
            self.rolled = True
            self.times.clear()
        elif month == 12 and self.month == 1 and self.rolled:
            year -= 1  # a straggler from last year: the year stays as it is
        if year == self.year and month != self.month:
            self.month = month
            self.times.clear()
        try:
            local = datetime(year, month, int(text[4:6]), int(text[7:9]), int(text[10:12]),
                             int(text[13:15]), tzinfo=self.zone)
        except ValueError:
            return None
        when = local.astimezone(UTC)
        if len(self.times) > 4096:
            self.times.clear()
        self.times[text] = (month, year, when, when.timestamp())
        return when, when.timestamp()

    def iso_time(self, text: str) -> tuple[datetime, float] | None:
        try:
            when = datetime.fromisoformat(text)
        except ValueError:
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=self.zone)
        when = when.astimezone(UTC)
        return when, when.timestamp()

    # -- events -------------------------------------------------------------------------

    def skip(self, reason: str) -> None:
        self.out.append(Skipped(self.no, reason, self.raw))

    def emit(self, prefix: str, sub: int, fields: dict[str, Any],
             pending: tuple[datetime, str] | None = None) -> None:
        """An event from the current line, or from an earlier line of its connection."""
        when, raw = pending or (self.when, self.raw)
        ts = when.timestamp() if pending else self.ts
        if self.ts != self.dup_ts:  # identical lines share a timestamp: count per second
            self.dup_ts = self.ts
            self.dups.clear()
        key = (raw, sub)
        dup = self.dups.get(key, 0)
        self.dups[key] = dup + 1
        # stable_id(prefix, text), inlined: this runs for every event of the hottest adapter.
        text = f"{self.host}\x1f{self.pid}\x1f{ts}\x1f{sub}\x1f{dup}\x1f{raw}"
        fields["event_id"] = f"{prefix}:{_blake2b(text.encode(), digest_size=12).hexdigest()}"
        fields["timestamp"] = when
        fields["resource"] = f"host/{self.host}"[:1024]
        # Every field comes from a regex group of known shape, clipped to its limit, an IP from
        # ip_or_none and a UTC time: the invariants trusted_event asks for.
        self.out.append(AccessEvent.model_validate(fields) if self.validate
                        else trusted_event(fields))

    # -- sshd ---------------------------------------------------------------------------

    def sshd(self, msg: str, sub: int) -> None:
        word = msg[:msg.find(" ")]
        if word in ("Failed", "Accepted", "Partial"):
            m = _ATTEMPT.match(msg)
            if m is not None:
                self.attempt(m, sub)
                return
        elif word == "Invalid":
            m = _INVALID.match(msg)
            if m is not None:
                self.context(m[1], m[2], m[3], invalid=True)
                return
        elif word in _END_WORDS:
            m = _END.match(msg)
            if m is not None:
                self.end(m[1], m[2], m[3], m[4], m[5])
                return
            if msg.startswith("Disconnecting: Too many authentication failures"):
                self.end(None, None, None, None, msg)
                return
        elif msg.startswith("pam_"):
            self.pam(msg)
            return
        elif word == "error:":
            m = _MAXAUTH.match(msg)
            if m is not None:
                kind = "invalid user" if m[1] else "authenticating user"
                self.end(kind, m[2], m[3], m[4], "too many authentication failures")
                return
        elif word == "PAM":
            self.skip("sshd: PAM summary (already counted)")
            return
        elif word == "message" and sub == 0:
            m = _REPEATED.match(msg)
            if m is not None:
                for i in range(1, min(int(m[1]), _MAX_REPEAT) + 1):
                    self.sshd(m[2], i)
                return
        if sub == 0:
            self.out.append(Skipped(self.no, "sshd: no access in message", self.raw))

    def conn(self, *, start: bool) -> _Conn:
        """The open connection of this line's pid (a new one if absent, or ended and ``start``)."""
        key = (self.host, self.pid)
        conn = self.conns.get(key)
        if conn is None or (start and conn.ended):
            if conn is not None:
                self.close(key, self.conns.pop(key), "pid reused")
            conn = self.conns[key] = _Conn()
            conn.last = self.ts
        else:
            conn.last = self.ts
            self.conns.move_to_end(key)
        return conn

    def context(self, user: str | None, addr: str | None, port: str | None, *,
                invalid: bool) -> None:
        conn = self.conn(start=True)
        if user is not None:
            conn.user = user
        if addr and conn.ip is None:
            conn.ip = addr
        if port and conn.port is None:
            conn.port = int(port)
        conn.invalid = conn.invalid or invalid
        if conn.pending is None:
            conn.pending = (self.when, self.raw)
        self.out.append(Skipped(self.no, _CONTEXT, self.raw))

    def pam(self, msg: str) -> None:
        if "(sshd:auth): authentication failure;" in msg:
            m = _PAM_FAIL.search(msg)
            if m is not None:
                user = m[2].strip() if m[2] else None
                self.context(user, m[1] or None, None, invalid=False)
                return
        self.skip("sshd: PAM context")

    def attempt(self, m: re.Match[str], sub: int) -> None:
        verb, method, invalid, user, addr, port, extra = m.groups()
        if method == "none" or verb == "Partial":
            self.context(user, addr, port, invalid=bool(invalid))
            if verb == "Partial":
                conn = self.conns[(self.host, self.pid)]
                conn.partial = (*conn.partial, method)
            return
        conn = self.conn(start=True)
        conn.user, conn.ip, conn.port = user, addr, int(port)
        conn.invalid = conn.invalid or bool(invalid)
        merged = conn.pending is not None
        conn.pending = None
        conn.attempts += 1
        fields = self.login_fields(conn, method)
        if verb == "Accepted":
            fields["outcome"] = "success"
            if conn.partial:
                fields["mfa"] = method[:64]
                fields["attributes"]["methods"] = [*conn.partial, method]
            if extra:
                key_type, _, fingerprint = extra.partition(" ")
                fields["credential_id"] = (fingerprint or key_type).strip()[:256] or None
                fields["attributes"]["key_type"] = key_type
        else:
            fields["outcome"] = "failure"
        if merged:
            fields["attributes"]["merged_context"] = True
        self.emit("sshd", sub, fields)

    def login_fields(self, conn: _Conn, method: str | None) -> dict[str, Any]:
        attrs: dict[str, Any] = {"host": self.host}
        if self.pid:
            attrs["pid"] = int(self.pid)
        if method:
            attrs["method"] = method
        if conn.port is not None:
            attrs["port"] = conn.port
        if conn.invalid:
            attrs["invalid_user"] = True
        if conn.checked_ip != conn.ip:
            conn.checked_ip, conn.source_ip = conn.ip, ip_or_none(conn.ip)
        ip = conn.source_ip
        if conn.ip and ip is None:
            attrs["source_host"] = conn.ip
        return {
            "user": _user_name(conn.user),
            "action": "login",
            "source_ip": ip,
            "service": "sshd",
            "session_id": f"{self.host}:{self.pid}"[:256],
            "attributes": attrs,
        }

    def end(self, kind: str | None, user: str | None, addr: str | None, port: str | None,
            tail: str) -> None:
        key = (self.host, self.pid)
        if kind == "user":  # a logged-in session ends
            conn = self.conns.pop(key, None) or _Conn()
            conn.user, conn.ip = user, addr
            conn.port = int(port) if port else conn.port
            fields = self.login_fields(conn, None)
            fields.update(action="logout", outcome="success")
            self.emit("sshd", 0, fields)
            return
        found = self.conns.get(key)
        if found is not None and found.ended:
            self.out.append(Skipped(self.no, _ENDED, self.raw))
            return
        conn = found or self.conn(start=True)
        conn.ended = True
        conn.last = self.ts
        if user is not None and conn.user is None:
            conn.user = user
            conn.invalid = conn.invalid or kind == "invalid user"
        if addr and conn.ip is None:
            conn.ip = addr
        if port and conn.port is None:
            conn.port = int(port)
        if conn.user is not None and conn.pending is None and conn.attempts == 0:
            conn.pending = (self.when, self.raw)
        reason = ("too many authentication failures" if "oo many authentication" in tail
                  else "closed before authenticating")
        if not self.close(key, conn, reason):
            self.out.append(Skipped(self.no, _ENDED, self.raw))

    def close(self, key: tuple[str, str], conn: _Conn, reason: str) -> bool:
        """Count the connection's pending attempt, if nothing else counted it."""
        pending, conn.pending = conn.pending, None
        if pending is None or conn.attempts:
            return False
        conn.attempts += 1
        # The event belongs to the connection's host and pid, whichever line closed it.
        here = self.host, self.pid
        self.host, self.pid = key
        fields = self.login_fields(conn, None)
        fields["outcome"] = "failure"
        fields["attributes"]["reason"] = reason
        if conn.partial:
            fields["attributes"]["methods"] = list(conn.partial)
        self.emit("sshd", 0, fields, pending)
        self.host, self.pid = here
        return True

    def expire(self, now: float) -> None:
        conns, opts = self.conns, self.opts
        horizon = now - opts.connection_idle_seconds
        while conns:
            key, conn = next(iter(conns.items()))
            if conn.last >= horizon and len(conns) <= opts.max_open_connections:
                return
            del conns[key]
            self.close(key, conn, "connection went quiet")

    # -- sudo and su ----------------------------------------------------------------------

    def sudo(self, msg: str) -> None:
        if msg.startswith("pam_"):
            self.skip("sudo: PAM context")
            return
        m = _SUDO.match(msg)
        if m is None:
            self.skip("sudo: no command in message")
            return
        user, rest = m.groups()
        head, sep, command = rest.partition("COMMAND=")
        status = ""
        info: dict[str, str] = {}
        for part in head.split(" ; "):
            name, eq, value = part.strip().partition("=")
            if eq and name.isupper():
                info[name] = value
            elif part.strip():
                status = part.strip()
        if not sep and not info:
            self.skip("sudo: no command in message")
            return
        attrs: dict[str, Any] = {"host": self.host, "target_user": info.get("USER", "root")}
        if sep:
            attrs["command"] = command.strip()
        if "TTY" in info:
            attrs["tty"] = info["TTY"]
        if "PWD" in info:
            attrs["pwd"] = info["PWD"]
        outcome = "success"
        if status:
            attrs["status"] = status
            outcome = "denied" if any(s in status for s in _DENIED_SUDO) else "failure"
            count = status.split(" ", 1)[0]
            if "incorrect password" in status and count.isdigit():
                attrs["attempts"] = int(count)
        fields = {"user": user[:256], "action": "elevate", "outcome": outcome,
                  "service": "sudo", "attributes": attrs}
        self.emit("sudo", 0, fields)

    def su(self, msg: str) -> None:
        m = _SU_UTIL.match(msg)
        if m is not None:
            failed, target, user, tty = m.groups()
        else:
            m = _SU_SHADOW.match(msg)
            if m is None:
                self.skip("su: PAM context" if msg.startswith("pam_")
                          else "su: no switch in message")
                return
            verdict, target, user = m.groups()
            failed, tty = verdict == "FAILED", None
        attrs: dict[str, Any] = {"host": self.host, "target_user": target, "via": "su"}
        if tty:
            attrs["tty"] = tty
        fields = {"user": user[:256], "action": "elevate",
                  "outcome": "failure" if failed else "success", "service": "su",
                  "attributes": attrs}
        self.emit("su", 0, fields)


def _user_name(name: str | None) -> str:
    """The attempted login name; ``(empty)`` if the client sent none, ``(unknown)`` if unlogged."""
    if name is None:
        return "(unknown)"
    return name.strip()[:256] or "(empty)"
