from typing import Any

from detectors.base import DetectorContext
from detectors.findings import Finding
from detectors.geo import Place, StaticGeoLookup
from detectors.rules.new_source import NewSource, NewSourceConfig
from detectors.testing import make_event

DE = {"country": "DE", "asn": 3320}
PL = {"country": "PL", "asn": 5617}
DAY = 86400.0


def run(
    logins: list[tuple[float, Any]],
    *,
    warmup: int = 3,
    warmup_seconds: float = 7 * DAY,
    geo: StaticGeoLookup | None = None,
    **cfg: Any,
) -> tuple[list[Finding], Any]:
    det = NewSource(
        NewSourceConfig(warmup_logins=warmup, warmup_seconds=warmup_seconds, **cfg),
        context=DetectorContext(geo=geo) if geo else None,
    )
    state, out = None, []
    for ts, where in logins:
        fields = {"source_ip": where} if isinstance(where, str) else {"geo": where}
        ev = make_event(ts=ts, **fields)
        if det.accepts(ev):
            state, found = det.step(state, ev)
            out += found
    return out, state


def test_new_country_after_warm_up_fires() -> None:
    found, _ = run([(0, DE), (60, DE), (120, DE), (180, PL)])
    assert len(found) == 1
    f = found[0]
    assert (f.detector, f.severity, f.key) == ("new_source", "medium", "alice")
    assert f.evidence["new_country"] == "PL" and f.evidence["new_network"] == "AS5617"
    assert f.evidence["known_countries"] == ["DE"] and f.evidence["located_logins"] == 3
    assert "first time from country PL (known: DE) and network AS5617" in f.explanation


def test_not_before_warm_up_w_minus_one_logins() -> None:
    found, _ = run([(0, DE), (60, DE), (180, PL)])
    assert found == []


def test_warm_up_by_history_span_at_its_edge() -> None:
    assert len(run([(0, DE), (7 * DAY, PL)], warmup=100)[0]) == 1
    assert run([(0, DE), (7 * DAY - 1, PL)], warmup=100)[0] == []


def test_new_network_in_a_known_country_fires() -> None:
    found, _ = run([(0, DE), (1, DE), (2, DE), (3, {"country": "DE", "asn": 8881})])
    assert len(found) == 1 and found[0].evidence["new_country"] is None
    assert found[0].evidence["new_network"] == "AS8881"


def test_a_new_ip_in_a_known_place_is_not_an_alert_and_fires_once() -> None:
    found, _ = run([(0, DE), (1, DE), (2, DE), (3, PL), (4, PL)])
    assert len(found) == 1


def test_unlocated_addresses_are_never_new_nor_learned() -> None:
    geo = StaticGeoLookup({"81.2.69.160": Place(country="GB", network="Andrews & Arnold Ltd")})
    logins = [
        (0, DE),
        (1, DE),
        (2, DE),
        (3, "10.1.2.3"),
        (4, "127.0.0.1"),
        (5, "203.0.113.9"),
        (6, "192.0.2.1"),
    ]
    found, state = run(logins, geo=geo)
    assert found == [] and state["n"] == 3
    found, _ = run([*logins, (7, "81.2.69.160")], geo=geo)
    assert found[0].evidence["new_country"] == "GB"
    assert found[0].evidence["new_network"] == "Andrews & Arnold Ltd"


def test_out_of_order_login_is_judged_like_any_other() -> None:
    found, _ = run([(100, DE), (200, DE), (300, DE), (50, PL)])
    assert len(found) == 1 and found[0].evidence["new_country"] == "PL"


def test_known_places_are_capped_least_recently_seen_first() -> None:
    countries = ["DE", "FR", "IT", "ES"]
    logins = [(i, {"country": c, "asn": 100 + i}) for i, c in enumerate(countries)]
    found, state = run(
        [*logins, (10, {"country": "DE", "asn": 100})], max_countries=3, max_networks=3
    )
    assert [c for c, _ in state["c"]] == ["IT", "ES", "DE"]  # FR was seen least recently
    assert len(state["a"]) == 3
    assert [f.evidence["new_country"] for f in found] == ["ES", "DE"]
