import json
import pickle

import pytest

from detectors.errors import EventError
from detectors.events import MAX_EVENT_BYTES, compact, event_json_schema, parse_event

GOOD = {
    "event_id": "01HZX3",
    "timestamp": "2026-03-01T10:00:00+01:00",
    "user": "alice",
    "action": "login",
    "outcome": "failure",
    "source_ip": "2001:DB8:0:0::1",
}


def raw(**changes: object) -> bytes:
    data = {**GOOD, **changes}
    return json.dumps({k: v for k, v in data.items() if v is not ...}).encode()


def test_valid_event_is_normalised_to_utc_and_canonical_ip() -> None:
    ev = parse_event(raw())
    assert ev.timestamp.isoformat() == "2026-03-01T09:00:00+00:00"
    assert ev.source_ip == "2001:db8::1"
    assert ev.actor_type == "human" and ev.roles == ()


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"not json", "not JSON"),
        (b'["a"]', "a JSON array is not an event object"),
        (b"42", "a JSON number is not an event object"),
        (b"\xff\xfe{}", "not UTF-8"),
        (raw(user=...), "user: Field required"),
        (raw(user=7), "user: Input should be a valid string"),
        (raw(timestamp="2026-03-01T10:00:00"), "timestamp: Input should have timezone info"),
        (raw(outcome="ok"), "outcome: Input should be 'success', 'failure' or 'denied'"),
        (raw(action="Log In"), "action: must be a lowercase word"),
        (raw(source_ip="10.0.0"), "source_ip: Value error, '10.0.0' is not an IPv4 or IPv6"),
        (raw(sourceip="10.0.0.1"), "sourceip: Extra inputs are not permitted"),
        # Found by the fault tests: these used to escape as OverflowError / ValueError
        # (outside datetime's range once in UTC).
        (raw(timestamp="0001-01-01T00:00:00+14:00"),
         "timestamp: Input should be greater than or equal to 0001-01-01T00:00:00Z"),
        (raw(timestamp="9999-12-31T23:59:59-14:00"),
         "timestamp: Input should be less than or equal to 9999-12-31T23:59:59.999999Z"),
        (raw(attributes=...)[:-1] + b', "attributes": {"n": ' + b"9" * 5000 + b"}}",
         "not JSON: Invalid JSON: number out of range"),
    ],
)
def test_bad_input_gets_a_one_line_reason(payload: bytes, reason: str) -> None:
    with pytest.raises(EventError) as info:
        parse_event(payload)
    assert reason in info.value.reason
    assert "\n" not in info.value.reason


def test_oversized_message_is_rejected_before_parsing() -> None:
    big = raw(attributes={"blob": "x" * MAX_EVENT_BYTES})
    with pytest.raises(EventError, match="over the 1048576-byte limit"):
        parse_event(big)


def test_round_trip_through_canonical_json() -> None:
    ev = parse_event(raw(roles=["dev"], geo={"country": "NL", "asn": 1136}))
    assert parse_event(ev.to_json()) == ev


def test_schema_describes_required_fields() -> None:
    schema = event_json_schema()
    assert set(schema["required"]) == {"event_id", "timestamp", "user", "action", "outcome"}
    assert schema["additionalProperties"] is False


def test_event_time_is_kept_but_a_copy_with_a_new_timestamp_gets_its_own() -> None:
    ev = parse_event(raw())
    assert ev.ts == ev.timestamp.timestamp() == ev.ts  # asked twice: the kept value
    later = ev.model_copy(update={"timestamp": ev.timestamp.replace(year=2027)})
    assert later.ts == later.timestamp.timestamp() != ev.ts
    assert ev.model_copy() == ev and "ts" not in ev.model_dump()


def test_compacted_events_share_their_set_of_given_fields_and_read_the_same() -> None:
    plain, a, b = parse_event(raw()), parse_event(raw()), parse_event(raw(user="bob"))
    other = parse_event(raw(resource="db/orders"))
    for ev in (a, b, other):
        assert compact(ev) is ev
    assert a.model_fields_set is b.model_fields_set  # one set for the same fields
    assert other.model_fields_set is not a.model_fields_set
    assert a == plain and a.model_fields_set == plain.model_fields_set
    assert a.model_dump(exclude_unset=True) == plain.model_dump(exclude_unset=True)
    assert a.to_json() == plain.to_json()
    assert pickle.loads(pickle.dumps(a)) == plain


def test_a_copy_of_a_compacted_event_gets_a_set_of_its_own() -> None:
    a, b = compact(parse_event(raw())), compact(parse_event(raw()))
    shared = frozenset(a.model_fields_set)
    assert a.ts  # kept: the copy must work its own out
    later = a.model_copy(update={"resource": "db/orders",
                                 "timestamp": a.timestamp.replace(year=2027)})
    assert later.model_fields_set == shared | {"resource"}
    assert b.model_fields_set == shared and "resource" not in a.model_fields_set
    assert later.resource == "db/orders" and later.ts == later.timestamp.timestamp() != a.ts
    assert later.model_dump(exclude_unset=True)["resource"] == "db/orders"
