import pytest

from detectors.geo import (
    GeoIP2FastLookup,
    NullGeoLookup,
    Place,
    StaticGeoLookup,
    is_routable,
    place_of,
)
from detectors.testing import make_event


@pytest.fixture(scope="module")
def offline() -> GeoIP2FastLookup:
    return GeoIP2FastLookup.load()  # the data bundled with geoip2fast; no network


def test_offline_lookup_gives_country_and_network(offline: GeoIP2FastLookup) -> None:
    assert offline.lookup("8.8.8.8") == Place(country="US", network="GOOGLE")
    place = offline.lookup("2001:4860:4860::8888")
    assert place is not None and place.country == "US"


@pytest.mark.parametrize(
    "ip",
    [
        "10.1.2.3",
        "192.168.0.1",
        "172.16.5.5",
        "127.0.0.1",
        "::1",
        "fe80::1",
        "169.254.1.1",
        "100.64.1.1",
        "240.0.0.1",
        "0.0.0.0",
        "203.0.113.7",
        "198.51.100.66",
        "fd00::1",
        "not-an-ip",
    ],
)
def test_private_reserved_and_malformed_addresses_have_no_place(
    offline: GeoIP2FastLookup, ip: str
) -> None:
    assert not is_routable(ip)
    assert offline.lookup(ip) is None


def test_unknown_answers_from_the_reader_are_not_guessed() -> None:
    class Reader:
        calls = 0

        def lookup(self, ip: str) -> object:
            Reader.calls += 1
            return type("R", (), {"country_code": "--", "asn_name": "", "is_private": False})()

    geo = GeoIP2FastLookup(Reader())
    assert geo.lookup("8.8.8.8") is None and geo.lookup("8.8.8.8") is None
    assert Reader.calls == 1  # cached


def test_event_geo_wins_and_gaps_are_filled_from_the_lookup() -> None:
    geo = StaticGeoLookup({"8.8.8.8": Place(country="US", network="GOOGLE", lat=1.0, lon=2.0)})
    given = make_event(source_ip="8.8.8.8", geo={"country": "de", "asn": 3320})
    assert place_of(given, geo) == Place(country="DE", network="AS3320", lat=1.0, lon=2.0)
    coords = make_event(source_ip="8.8.8.8", geo={"city": "Berlin", "lat": 52.5, "lon": 13.4})
    assert place_of(coords, geo) == Place(
        country="US", network="GOOGLE", city="Berlin", lat=52.5, lon=13.4
    )
    assert place_of(make_event(source_ip="8.8.8.8"), geo) == geo.lookup("8.8.8.8")
    assert place_of(make_event(source_ip="8.8.8.8"), NullGeoLookup()) is None
    assert place_of(make_event(source_ip="10.0.0.1", geo={"country": "FR"}), geo) == Place(
        country="FR"
    )


def test_place_label() -> None:
    assert Place(country="DE", city="Berlin").label() == "Berlin, DE"
    assert Place(network="AS1").label() == "AS1"
    assert Place().label() == "an unknown place"
