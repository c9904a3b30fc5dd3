from typing import Any

from detectors.base import DetectorContext
from detectors.findings import Finding
from detectors.geo import Place, StaticGeoLookup
from detectors.rules.impossible_travel import (
    ImpossibleTravel,
    ImpossibleTravelConfig,
    great_circle_km,
)
from detectors.testing import make_event

BERLIN = {"city": "Berlin", "country": "DE", "lat": 52.52, "lon": 13.405}
NYC = {"city": "New York", "country": "US", "lat": 40.7128, "lon": -74.006}
POTSDAM = {"city": "Potsdam", "country": "DE", "lat": 52.3906, "lon": 13.0645}
KM = great_circle_km(52.52, 13.405, 40.7128, -74.006)


def run(
    logins: list[tuple[float, Any]],
    *,
    lateness: float = 300,
    geo: StaticGeoLookup | None = None,
    **cfg: Any,
) -> list[Finding]:
    det = ImpossibleTravel(
        ImpossibleTravelConfig(**cfg),
        allowed_lateness_seconds=lateness,
        context=DetectorContext(geo=geo) if geo else None,
    )
    state, out = None, []
    for ts, where in logins:
        fields = {"source_ip": where} if isinstance(where, str) else {"geo": where}
        ev = make_event(ts=ts, **fields)
        if det.accepts(ev):
            state, found = det.step(state, ev)
            out += found
    return out


def test_too_fast_between_consecutive_logins_fires() -> None:
    found = run([(0, BERLIN), (3600, NYC)])
    assert len(found) == 1
    f = found[0]
    assert (f.detector, f.severity, f.key) == ("impossible_travel", "high", "alice")
    assert f.evidence["distance_km"] == 6385 and f.evidence["speed_kmh"] == 6385
    assert f.incident == f.event_ids[1]
    assert (
        "from Berlin, DE at 2026-03-02 09:00:00 UTC and from New York, US 1 h later: "
        "6,385 km, 6,385 km/h (limit: 1,000 km/h" in f.explanation
    )


def test_speed_just_under_the_limit_does_not_fire_just_over_does() -> None:
    at_limit = KM / 1000 * 3600  # seconds; timestamps keep microseconds, so stay a bit clear
    assert run([(0, BERLIN), (at_limit + 0.01, NYC)]) == []
    assert len(run([(0, BERLIN), (at_limit - 0.01, NYC)])) == 1


def test_nearby_pairs_are_ignored_however_fast() -> None:
    assert run([(0, BERLIN), (1, POTSDAM)]) == []  # ~27 km
    assert len(run([(0, BERLIN), (1, POTSDAM)], min_distance_km=10)) == 1


def test_same_second_far_apart_is_infinitely_fast() -> None:
    found = run([(0, BERLIN), (0, NYC)])
    assert found[0].evidence["speed_kmh"] is None and "in no time at all" in found[0].explanation


def test_out_of_order_login_within_lateness_is_compared_with_its_neighbours() -> None:
    found = run([(0, BERLIN), (200, BERLIN), (100, NYC)])
    assert len(found) == 2  # Berlin->NYC and NYC->Berlin, each impossible
    assert {f.incident for f in found} == {f.event_ids[1] for f in found}


def test_late_login_beyond_lateness_is_ignored() -> None:
    assert run([(10000, BERLIN), (9000, NYC)], lateness=300) == []


def test_country_level_places_without_coordinates_are_skipped() -> None:
    geo = StaticGeoLookup({"8.8.8.8": Place(country="US"), "81.2.69.160": Place(country="GB")})
    assert run([(0, "81.2.69.160"), (1, "8.8.8.8")], geo=geo) == []
    assert run([(0, {"country": "DE"}), (1, {"country": "US"})]) == []


def test_lookup_coordinates_are_used_when_the_event_has_none() -> None:
    geo = StaticGeoLookup({"8.8.8.8": Place(country="US", lat=40.7128, lon=-74.006)})
    assert len(run([(0, BERLIN), (60, "8.8.8.8")], geo=geo)) == 1


def test_state_keeps_few_logins() -> None:
    det = ImpossibleTravel(ImpossibleTravelConfig())
    state = None
    for i in range(50):
        state, _ = det.step(state, make_event(ts=i * 3600, geo=BERLIN))
    assert len(state["p"]) == 1
