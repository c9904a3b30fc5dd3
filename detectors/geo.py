"""Where a source IP is: a small, pure lookup interface with an offline implementation.

Detectors never import a geo database: they are handed a :class:`GeoLookup` (through
:class:`~detectors.base.DetectorContext`), so tests inject a fixed table and the worker
loads :class:`GeoIP2FastLookup` once at start. The data of ``geoip2fast`` ships inside the
package (country and AS organisation, IPv4 and IPv6); nothing is fetched over the network.

Addresses that are not globally routable (private, loopback, link-local, shared, reserved,
documentation) and addresses the data does not know have no place: the lookup returns
``None`` and never guesses.

>>> geo = StaticGeoLookup({"81.2.69.160": Place(country="GB", network="AS20712")})
>>> geo.lookup("81.2.69.160").country, geo.lookup("10.0.0.1"), NullGeoLookup().lookup("1.1.1.1")
('GB', None, None)
>>> from detectors.testing import make_event
>>> place_of(make_event(geo={"country": "DE", "asn": 3320}), geo)
Place(country='DE', network='AS3320', city=None, lat=None, lon=None)
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any, Protocol

from detectors.events import AccessEvent

__all__ = [
    "GeoIP2FastLookup",
    "GeoLookup",
    "NullGeoLookup",
    "Place",
    "StaticGeoLookup",
    "is_routable",
    "place_of",
]


@dataclass(frozen=True, slots=True)
class Place:
    """A located source. ``network`` names the autonomous system: ``AS<number>`` when the
    number is known (from the event), else the AS organisation name (from the offline data).
    """

    country: str | None = None
    network: str | None = None
    city: str | None = None
    lat: float | None = None
    lon: float | None = None

    @property
    def has_coordinates(self) -> bool:
        return self.lat is not None and self.lon is not None

    def label(self) -> str:
        """Short human name: city and country when known, else country, else network."""
        if self.city and self.country:
            return f"{self.city}, {self.country}"
        return self.city or self.country or self.network or "an unknown place"


class GeoLookup(Protocol):
    """Anything that maps an IP address to a :class:`Place`, or to None when unknown."""

    def lookup(self, ip: str) -> Place | None: ...


class NullGeoLookup:
    """Knows nothing: detectors then rely on ``event.geo`` alone."""

    def lookup(self, ip: str) -> Place | None:
        return None


@lru_cache(maxsize=65536)
def is_routable(ip: str) -> bool:
    """True for globally routable addresses; False for private, reserved or malformed ones."""
    try:
        return ipaddress.ip_address(ip).is_global
    except ValueError:
        return False


class StaticGeoLookup:
    """A fixed table, for tests and examples; non-routable addresses are never located."""

    def __init__(self, table: Mapping[str, Place]) -> None:
        self._table = dict(table)

    def lookup(self, ip: str) -> Place | None:
        return self._table.get(ip) if is_routable(ip) else None


class GeoIP2FastLookup:
    """Offline lookups in the data bundled with ``geoip2fast``, cached per address.

    ``reader`` is a ``geoip2fast.GeoIP2Fast`` (or anything whose ``lookup(ip)`` returns an
    object with ``country_code``, ``asn_name`` and ``is_private``); :meth:`load` builds one
    from the package's own data file. Loading takes a few tenths of a second and ~100 MiB, so
    build one per worker at start, never on import.
    """

    #: The bundled data file with countries and AS names for IPv4 and IPv6.
    DATA_FILE = "geoip2fast-asn-ipv6.dat.gz"

    def __init__(self, reader: Any, *, cache_size: int = 65536) -> None:
        self._reader = reader
        self._cached: Callable[[str], Place | None] = lru_cache(maxsize=cache_size)(
            self._lookup_uncached
        )

    @classmethod
    def load(cls, data_file: str = DATA_FILE, *, cache_size: int = 65536) -> GeoIP2FastLookup:
        from geoip2fast import GeoIP2Fast  # heavy; imported only when a worker asks for it

        return cls(GeoIP2Fast(verbose=False, geoip2fast_data_file=data_file), cache_size=cache_size)

    def lookup(self, ip: str) -> Place | None:
        return self._cached(ip)

    def _lookup_uncached(self, ip: str) -> Place | None:
        if not is_routable(ip):
            return None
        found = self._reader.lookup(ip)
        if getattr(found, "is_private", False):
            return None
        country = _clean(getattr(found, "country_code", None))
        network = _clean(getattr(found, "asn_name", None))
        if country is not None and not (len(country) == 2 and country.isalpha()):
            country = None  # "--" and other markers mean "not in the data"
        if country is None and network is None:
            return None
        return Place(country=country.upper() if country else None, network=network)


def _clean(value: object) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def place_of(event: AccessEvent, geo: GeoLookup) -> Place | None:
    """The event's place: the producer's ``geo`` first, gaps filled from the lookup."""
    g = event.geo
    given = None
    if g is not None:
        given = Place(
            country=g.country.upper() if g.country else None,
            network=f"AS{g.asn}" if g.asn is not None else None,
            city=g.city,
            lat=g.lat,
            lon=g.lon,
        )
        if given.country and given.network and given.has_coordinates:
            return given
    found = geo.lookup(event.source_ip) if event.source_ip else None
    if found is None:
        if given is None or (
            given.country is None and given.network is None and not given.has_coordinates
        ):
            return None
        return given
    if given is None:
        return found
    return replace(
        given,
        country=given.country or found.country,
        network=given.network or found.network,
        city=given.city or (found.city if not given.has_coordinates else None),
        lat=given.lat if given.has_coordinates else found.lat,
        lon=given.lon if given.has_coordinates else found.lon,
    )
