"""A split replay's line routing: every process that owns a key of a valid event gets the
line, whatever the JSON looks like; every line goes somewhere; an invalid one is reported
by one process."""

import json
import random

import pytest

from detectors.config import Config
from detectors.engine import Engine, KeyShard
from detectors.errors import EventError
from detectors.evaluate import RULE_DETECTORS
from detectors.events import parse_event
from detectors.replay import ReplaySummary, _Routes, replay, replay_many
from detectors.scenario import ATTACKS, ScenarioSpec, generate, policy_config
from detectors.sharding import LineRouter, reporter

BASE = {"event_id": "e1", "timestamp": "2026-03-02T09:00:00Z", "user": "ann",
        "action": "login", "outcome": "failure", "source_ip": "203.0.113.9"}


def rules() -> Engine:
    return Engine(policy_config(), only=RULE_DETECTORS)


def needed_by(engine: Engine, line: str | bytes, count: int) -> int:
    """The processes that own a key of the event under a kind that may take it."""
    event = parse_event(line)
    mask = 0
    for kind in engine.key_kinds:
        key = engine.key_for(kind, event)
        if key is not None and engine.may_take(kind, event.action, event.outcome):
            mask |= 1 << KeyShard.shard_of(kind, key, count)
    return mask


def odd_lines() -> list[str]:
    """Valid events written every way JSON allows that a byte-level reading could get wrong."""
    spaced = json.dumps(BASE, indent=2).replace("\n", " ")
    return [
        json.dumps(BASE),
        json.dumps(BASE, separators=(",", ":")),
        spaced,
        json.dumps({**BASE, "user": "  ann\u00a0"}),  # stripped as the model strips
        json.dumps({**BASE, "user": "\u00e5sa"}, ensure_ascii=False),
        json.dumps({**BASE, "user": "\u00e5sa"}),  # the same name, escaped
        '{"event_id": "e1", "timestamp": "2026-03-02T09:00:00Z", "user": "\\u0062ob",'
        ' "action": "login", "outcome": "failure"}',
        '{"event_id": "e1", "timestamp": "2026-03-02T09:00:00Z", "user": "ann",'
        ' "user": "carl", "action": "login", "outcome": "failure"}',  # repeated key
        json.dumps({**BASE, "attributes": {"user": "dora", "source_ip": "198.51.100.1"}}),
        json.dumps({**BASE, "source_ip": " 2001:DB8:0:0::1 "}),  # normalised
        json.dumps({**BASE, "source_ip": None}),
        json.dumps({k: v for k, v in BASE.items() if k != "source_ip"}),
        json.dumps({**BASE, "roles": ["user", "source_ip"]}),
        json.dumps({**BASE, "action": "token_use", "outcome": "success",
                    "credential_id": ""}),  # an empty credential id is a key
        json.dumps({**BASE, "action": "key_revoke", "outcome": "success",
                    "credential_id": " key-1 "}),
        json.dumps({**BASE, "action": " login ", "outcome": "success"}),
    ]


@pytest.mark.parametrize("count", [2, 3, 5])
def test_every_owner_of_a_valid_event_gets_its_line(count: int) -> None:
    engine = rules()
    router = LineRouter([engine], count)
    for n, line in enumerate(odd_lines(), 1):
        for form in (line, line.encode()):
            mask = router.route(form, n)
            needed = needed_by(engine, form, count)
            assert mask & needed == needed, line
            assert mask == (needed or 1 << (n % count)), line  # and no other process


def test_scenario_lines_go_where_their_keys_are_owned() -> None:
    engine = rules()
    router = LineRouter([engine], 3)
    events = [ev for ev, _ in generate(ScenarioSpec(users=20, hours=2, attacks=ATTACKS))]
    for n, ev in enumerate(events, 1):
        line = ev.to_json()
        assert router.route(line, n) == (needed_by(engine, line, 3) or 1 << (n % 3))


def test_a_line_no_process_needs_goes_to_one_by_its_number() -> None:
    router = LineRouter([rules()], 3)
    masks = [router.route(bad, n) for n, bad in enumerate(
        [b"not json", b"[1, 2]", b'{"user": 7, "action": "login", "outcome": "failure"}',
         b'{"user": "ann"}', b"x" * (1024 * 1024 + 1)], 1)]
    assert masks == [1 << (n % 3) for n in range(1, 6)]


def test_the_lowest_process_a_line_goes_to_reports_it() -> None:
    assert [reporter(m) for m in (0b1, 0b10, 0b110, 0b101, 0b1000)] == [0, 1, 1, 0, 3]


@pytest.mark.parametrize("workers", [2, 3])
def test_odd_lines_replay_in_processes_as_in_one(workers: int) -> None:
    # a history whose keys are spelt every odd way, with bad lines that several processes
    # parse (their keys are fine, their timestamps are not): the same findings, each bad
    # line reported once
    rng = random.Random(5)
    lines: list[str] = []
    for i in range(400):
        user = rng.choice(["ann", "bob", "carl", "dora", "erin"])
        ip = rng.choice(["203.0.113.9", "198.51.100.7", "2001:db8::1"])
        event = {**BASE, "event_id": f"e{i}", "user": user, "source_ip": ip,
                 "timestamp": f"2026-03-02T09:{i // 60:02d}:{i % 60:02d}Z",
                 "outcome": rng.choice(["failure", "failure", "success"])}
        text = rng.choice([
            json.dumps(event),
            json.dumps(event, indent=1).replace("\n", " "),
            json.dumps({**event, "user": f" {user} ", "source_ip": ip.upper()}),
            json.dumps(event).replace(f'"user": "{user}"',
                                      '"user": "' + "".join(f"\\u{ord(c):04x}" for c in user)
                                      + '"'),
            json.dumps({**event, "attributes": {"user": "zed", "source_ip": "192.0.2.1"}}),
        ])
        lines.append(text)
    bad = {17: json.dumps({**BASE, "timestamp": "yesterday"}),
           90: json.dumps({**BASE, "user": "bob", "source_ip": "198.51.100.7",
                           "timestamp": "2026-03-02T25:00:00Z"}),
           150: "{broken", 151: ""}
    for at, text in sorted(bad.items()):
        lines.insert(at, text)
    rng.shuffle(lines)
    cfg = Config.model_validate({"detectors": {
        "failed_login_burst": {"threshold": 3},
        "password_spray": {"threshold": 3},
        "failure_then_success": {"threshold": 2}}})
    several = [LineRouter([Engine(cfg, only=RULE_DETECTORS)], workers).route(bad[at], 1)
               for at in (17, 90)]
    if workers == 3:  # both bad lines go to two processes each (and are reported once)
        assert [bin(mask).count("1") for mask in several] == [2, 2]
    one = replay(lines, Engine(cfg, only=RULE_DETECTORS))
    split = replay(lines, Engine(cfg, only=RULE_DETECTORS), workers=workers)
    assert split.summary.workers == workers
    assert len(one.findings) >= 10
    assert {f.detector for f in one.findings} >= {"failed_login_burst", "password_spray"}
    assert split.findings == one.findings
    assert split.invalid == one.invalid and len(one.invalid) == 3
    assert split.summary.events_read == one.summary.events_read == len(lines) - 1


def test_each_process_parses_only_part_of_a_history(monkeypatch) -> None:
    import detectors.replay as replay_module

    parsed: list[int] = []
    real = replay_module.parse_event

    def counting(line):  # type: ignore[no-untyped-def]
        parsed.append(1)
        return real(line)

    monkeypatch.setattr(replay_module, "parse_event", counting)
    lines = [ev.to_json() for ev, _ in generate(ScenarioSpec(users=40, hours=2,
                                                             attacks=ATTACKS))]
    summary = ReplaySummary()
    # the parent's own share (the child counts in its own memory)
    replay_many(lines, [rules()], summary, workers=2)
    assert summary.workers == 2
    assert 0.2 * len(lines) < len(parsed) < 0.8 * len(lines)


def test_routes_wait_for_every_process_or_give_up_when_one_is_gone() -> None:
    routes = _Routes(4, 2)
    routes.shared[:4] = bytes([1, 2, 0, 3])
    routes.done(0)
    assert routes.wait(lambda: False) is None  # process 1 never routed its lines
    routes.done(1)
    assert routes.wait(lambda: False) == bytes([1, 2, 0, 3])
    assert [list(routes.slice_of(i)) for i in range(2)] == [[0, 1], [2, 3]]


def test_an_event_the_engine_cannot_parse_is_not_one_a_router_misreads() -> None:
    # the routing reads keys with the event's own types: a key of the wrong type fails both
    for text in ('{"user": ["ann"], "action": "login", "outcome": "failure"}',
                 '{"user": "ann", "action": "login", "outcome": "failure", "source_ip": 5}'):
        with pytest.raises(EventError):
            parse_event(text)
        assert LineRouter([rules()], 2).route(text, 4) == 1
