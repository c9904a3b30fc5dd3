from collections import Counter

import pytest

from detectors.errors import SourceError
from detectors.events import AccessEvent
from detectors.sources import SourceOptions
from tests.detectors.sources.support import FIXTURES, events, read_lines, run, skips

AUTH_LOG = read_lines(FIXTURES / "auth.log")


def sshd(lines: list[str], **options: object) -> list:
    return run("sshd", lines, **{"year": 2026, **options})


def brief(ev: AccessEvent) -> tuple:
    return (ev.user, ev.action, ev.outcome, ev.source_ip)


def test_auth_log_fixture_maps_to_one_event_per_attempt() -> None:
    out = sshd(AUTH_LOG)
    assert [brief(e) for e in events(out)] == [
        ("admin", "login", "failure", "203.0.113.50"),  # Invalid user + PAM + Failed: one
        *[("root", "login", "failure", "198.51.100.23")] * 6,  # 4 lines + "repeated 2 times"
        ("alice", "login", "success", "192.0.2.10"),
        ("alice", "elevate", "success", None),  # sudo
        ("oracle", "login", "failure", "203.0.113.77"),  # scanner: Invalid user, then closed
        ("ubuntu", "login", "failure", "203.0.113.78"),  # key probe: closed while authenticating
        ("bob", "login", "success", "192.0.2.44"),  # publickey + keyboard-interactive
        ("bob", "elevate", "failure", None),  # sudo: 3 incorrect password attempts
        ("bob", "elevate", "denied", None),  # sudo: NOT in sudoers
        ("alice", "elevate", "success", None),  # su
        ("bob", "elevate", "failure", None),  # FAILED SU
        ("alice", "logout", "success", "192.0.2.10"),
        ("(empty)", "login", "failure", "203.0.113.90"),  # empty user name, "Failed none" merged
        *[("deploy", "login", "failure", "2001:db8::7")] * 2,
    ]
    assert len(out) - len(events(out)) == len(skips(out))
    bad = [s for s in skips(out) if s.bad]
    assert [(s.line_no, s.reason) for s in bad] == [(47, "syslog: not a syslog line")]


def test_every_line_is_accounted_for() -> None:
    out = sshd(AUTH_LOG)
    skipped_lines = {s.line_no for s in skips(out)}
    assert len(skipped_lines) == len(skips(out))  # one skip per line at most
    # The other 19 lines made the 20 events ("message repeated 2 times" makes two).
    assert len(AUTH_LOG) == 49 and len(skipped_lines) == 30 and len(events(out)) == 20
    reasons = Counter(s.reason for s in skips(out))
    assert reasons["sshd: connection context (merged)"] == 6
    assert reasons["sshd: PAM summary (already counted)"] == 2
    assert reasons["syslog: other program"] == 3


def test_fields_of_a_failed_attempt() -> None:
    ev = events(sshd(AUTH_LOG))[0]
    assert ev.timestamp.isoformat() == "2026-03-03T14:02:11+00:00"
    assert ev.resource == "host/web1" and ev.service == "sshd" and ev.session_id == "web1:20400"
    assert ev.attributes == {"host": "web1", "pid": 20400, "method": "password", "port": 51514,
                             "invalid_user": True, "merged_context": True}


def test_publickey_login_keeps_the_key_fingerprint_as_credential() -> None:
    alice = next(e for e in events(sshd(AUTH_LOG)) if e.user == "alice")
    assert alice.credential_id == "SHA256:q1w2e3r4t5y6u7i8o9p0AaSsDdFfGgHhJjKkLlZzXx"
    assert alice.attributes["key_type"] == "ED25519" and alice.mfa is None


def test_second_factor_after_partial_auth_is_the_mfa_method() -> None:
    bob = next(e for e in events(sshd(AUTH_LOG)) if e.user == "bob")
    assert bob.mfa == "keyboard-interactive/pam"
    assert bob.attributes["methods"] == ["publickey", "keyboard-interactive/pam"]


def test_connection_end_counts_an_attempt_only_when_none_was_counted() -> None:
    found = events(sshd(AUTH_LOG))
    oracle = next(e for e in found if e.user == "oracle")
    assert oracle.attributes["reason"] == "closed before authenticating"
    assert oracle.timestamp.isoformat() == "2026-03-03T14:07:15+00:00"  # the Invalid user line
    assert sum(e.user == "root" for e in found) == 6  # "Too many" adds nothing after 6 failures


def test_too_many_failures_without_logged_attempts_is_one_failure() -> None:
    out = sshd([
        "Mar  4 08:00:00 h sshd[9]: Disconnecting authenticating user git 192.0.2.1 port 5:"
        " Too many authentication failures [preauth]",
        "Mar  4 08:00:00 h sshd[9]: Connection closed by authenticating user git 192.0.2.1"
        " port 5 [preauth]",
    ])
    (ev,) = events(out)
    assert brief(ev) == ("git", "login", "failure", "192.0.2.1")
    assert ev.attributes["reason"] == "too many authentication failures"
    assert [s.reason for s in skips(out)] == ["sshd: connection end"]


def test_sudo_and_su_details() -> None:
    found = [e for e in events(sshd(AUTH_LOG)) if e.action == "elevate"]
    assert found[0].attributes["command"] == "/usr/bin/systemctl restart nginx"
    assert found[0].attributes["target_user"] == "root" and found[0].service == "sudo"
    assert found[1].attributes["attempts"] == 3
    assert found[2].attributes["status"] == "user NOT in sudoers"
    assert found[3].service == "su" and found[3].attributes["tty"] == "pts/0"


def test_shadow_utils_su_lines() -> None:
    out = sshd([
        "Mar  4 08:00:00 h su[1]: FAILED su for root by mallory",
        "Mar  4 08:00:01 h su[2]: Successful su for postgres by erin",
        "Mar  4 08:00:01 h su[2]: + /dev/pts/2 erin:postgres",
    ])
    assert [(e.user, e.outcome, e.attributes["target_user"]) for e in events(out)] == [
        ("mallory", "failure", "root"), ("erin", "success", "postgres")]
    assert skips(out)[0].reason == "su: no switch in message"


def test_ids_are_deterministic_unique_and_independent_of_where_the_replay_starts() -> None:
    first = [e.event_id for e in events(sshd(AUTH_LOG))]
    assert first == [e.event_id for e in events(sshd(AUTH_LOG))]
    assert len(set(first)) == len(first)
    tail = [e.event_id for e in events(sshd(AUTH_LOG[20:]))]  # starts at alice's login
    assert tail == first[7:]


def test_identical_lines_in_the_same_second_get_distinct_ids() -> None:
    deploy = [e for e in events(sshd(AUTH_LOG)) if e.user == "deploy"]
    assert len(deploy) == 2 and deploy[0].event_id != deploy[1].event_id


def test_events_survive_validation_round_trip() -> None:
    for ev in events(sshd(AUTH_LOG)):
        assert AccessEvent.model_validate_json(ev.to_json()) == ev


def test_december_to_january_bumps_the_year_and_stragglers_keep_theirs() -> None:
    out = sshd(read_lines(FIXTURES / "secure-newyear.log"), year=2025, tz="America/New_York")
    stamps = [(e.user, e.timestamp.isoformat()) for e in events(out)]
    assert stamps == [
        ("carol", "2026-01-01T04:59:58+00:00"),
        ("carol", "2026-01-01T04:59:59+00:00"),
        ("carol", "2026-01-01T05:00:01+00:00"),  # Jan 1 00:00:01 EST, year 2026
        ("dave", "2026-01-01T04:59:59+00:00"),  # Dec 31 straggler stays in 2025 local time
        ("carol", "2026-01-01T05:00:05+00:00"),
    ]


def test_rfc3339_timestamps_with_and_without_offset() -> None:
    out = sshd(read_lines(FIXTURES / "rsyslog-precise.log"), year=None, tz="Europe/Berlin")
    assert [(e.user, e.action, e.timestamp.isoformat()) for e in events(out)] == [
        ("postgres", "login", "2026-07-14T07:15:04.117420+00:00"),
        ("erin", "login", "2026-07-14T07:20:00+00:00"),
        ("erin", "elevate", "2026-07-14T07:25:00+00:00"),  # no offset: read in tz
    ]


def test_bsd_timestamp_without_year_is_an_error() -> None:
    with pytest.raises(SourceError, match="set the year option"):
        sshd(AUTH_LOG[:1], year=None)


def test_bad_time_zone_is_an_error() -> None:
    with pytest.raises(SourceError, match="unknown time zone"):
        SourceOptions(year=2026, tz="Mars/Olympus")


def test_impossible_date_is_a_bad_line() -> None:
    out = sshd(["Feb 30 10:00:00 h sshd[1]: Failed password for x from 192.0.2.1 port 1 ssh2"])
    assert [(s.reason, s.bad, s.detail) for s in skips(out)] == [
        ("syslog: bad timestamp", True, "Feb 30 10:00:00")]


def test_quiet_connection_is_closed_by_log_time() -> None:
    out = sshd([
        "Mar  4 08:00:00 h sshd[1]: Invalid user test from 192.0.2.9 port 7",
        "Mar  4 08:30:00 h sshd[2]: Server listening on :: port 22.",
    ], connection_idle_seconds=600)
    (ev,) = events(out)
    assert ev.user == "test" and ev.attributes["reason"] == "connection went quiet"
    assert out.index(ev) == 2  # emitted when the later line showed the first had gone quiet


def test_open_connection_limit_closes_the_least_recent() -> None:
    out = sshd([
        "Mar  4 08:00:00 h sshd[1]: Invalid user a from 192.0.2.1 port 7",
        "Mar  4 08:00:01 h sshd[2]: Invalid user b from 192.0.2.2 port 7",
        "Mar  4 08:00:02 h sshd[2]: Failed password for invalid user b from 192.0.2.2 port 7 ssh2",
    ], max_open_connections=1)
    assert [(e.user, e.attributes.get("reason")) for e in events(out)] == [
        ("a", "connection went quiet"), ("b", None)]


def test_pending_attempt_is_counted_when_input_ends() -> None:
    out = sshd(["Mar  4 08:00:00 h sshd[1]: Invalid user z from 192.0.2.1 port 7"])
    assert [(e.user, e.attributes["reason"]) for e in events(out)] == [("z", "input ended")]


def test_reused_pid_starts_a_new_connection() -> None:
    out = sshd([
        "Mar  4 08:00:00 h sshd[5]: Failed password for amy from 192.0.2.1 port 7 ssh2",
        "Mar  4 08:00:01 h sshd[5]: Connection closed by authenticating user amy 192.0.2.1"
        " port 7 [preauth]",
        "Mar  4 08:00:09 h sshd[5]: Connection closed by authenticating user ben 192.0.2.2"
        " port 8 [preauth]",
        "Mar  4 08:00:10 h sshd[5]: Failed password for cal from 192.0.2.3 port 9 ssh2",
    ])
    # The second close is absorbed by amy's closed connection; cal's attempt starts anew.
    assert [e.user for e in events(out)] == ["amy", "cal"]


def test_hostname_instead_of_ip_goes_to_attributes() -> None:
    out = sshd(["Mar  4 08:00:00 h sshd[1]: Failed password for amy from gw.example.net"
                " port 7 ssh2"])
    (ev,) = events(out)
    assert ev.source_ip is None and ev.attributes["source_host"] == "gw.example.net"


def test_other_programs_and_blank_lines_are_skipped_not_bad() -> None:
    out = sshd(["", "Mar  4 08:00:00 h kernel: [  1.0] usb 1-1: new device"])
    assert [(s.reason, s.bad) for s in skips(out)] == [
        ("blank line", False), ("syslog: other program", False)]


ODD_LINES = [
    *AUTH_LOG,
    *read_lines(FIXTURES / "rsyslog-precise.log"),
    "Mar  4 08:00:00 " + "h" * 600 + " sshd[1]: Failed password for x from 192.0.2.1 port 7 ssh2",
    "Mar  4 08:00:01 h sshd[2]: Failed password for invalid user  a b  from 192.0.2.1 port 7 ssh2",
    "Mar  4 08:00:02 h sshd[3]: Failed password for élodie from 2001:0DB8:0:0::0001 port 7 ssh2",
    "Mar  4 08:00:03 h sshd[4]: Accepted publickey for " + "u" * 400 + " from 10.0.0.1 port 7"
    " ssh2: RSA " + "k" * 400,
    "Mar  4 08:00:04 h sshd[5]: Accepted publickey for amy from 010.000.000.001 port 7 ssh2:",
    "Mar  4 08:00:05 h sshd[6]: Partial publickey for amy from 10.0.0.1 port 7 ssh2: RSA x",
    "Mar  4 08:00:05 h sshd[6]: Accepted " + "m" * 100 + " for amy from 10.0.0.1 port 7 ssh2",
    "Mar  4 08:00:06 h sudo: amy : TTY=pts/0 ; PWD=/ ; USER=root ; COMMAND=/bin/echo a ; b",
]


def test_trusted_construction_equals_validation() -> None:
    """The syslog adapter skips pydantic; validating the same input must give equal events."""
    fast = events(sshd(ODD_LINES, tz="Europe/Berlin"))
    slow = events(sshd(ODD_LINES, tz="Europe/Berlin", validate=True))
    assert len(fast) == len(slow) == 30
    for a, b in zip(fast, slow, strict=True):
        assert a == b and a.to_json() == b.to_json()
        assert AccessEvent.model_validate(a.model_dump()) == a
        assert a.model_fields_set == b.model_fields_set


def test_odd_values_are_clipped_and_normalised() -> None:
    long_host, spaced, accented, long_user, zeros, mfa, sudo = events(sshd(ODD_LINES[-8:]))
    assert len(long_host.resource) == 5 + 600 and len(long_host.session_id) == 256
    assert spaced.user == "a b"
    assert accented.source_ip == "2001:db8::1" and accented.user == "élodie"
    assert len(long_user.user) == 256 and len(long_user.credential_id) == 256
    assert zeros.source_ip is None and zeros.attributes["source_host"] == "010.000.000.001"
    assert zeros.credential_id is None
    assert mfa.mfa == "m" * 64
    assert sudo.attributes["command"] == "/bin/echo a ; b"
