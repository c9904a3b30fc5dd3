import json

from detectors.ml.features import FEATURES, Context, extract, new_baseline, update
from detectors.ml.scenarios import MlScenarioSpec, generate_ml
from detectors.testing import make_event

CTX = Context()


def test_every_event_gets_the_complete_dict_in_unit_range(ml_rows: list) -> None:
    bases: dict = {}
    for ev, _ in ml_rows:
        base = bases.setdefault(ev.user, new_baseline())
        feats = extract(base, ev, CTX)
        assert tuple(feats) == FEATURES
        assert all(isinstance(v, float) and 0.0 <= v <= 1.0 for v in feats.values()), feats
        update(base, ev, CTX)


def test_extract_does_not_touch_the_baseline() -> None:
    base = new_baseline()
    update(base, make_event(ts=0, action="view", resource="wiki/a"), CTX)
    before = json.dumps(base)
    extract(base, make_event(ts=30, action="view", resource="wiki/b"), CTX)
    assert json.dumps(base) == before


def test_first_seen_flags_then_familiar() -> None:
    base = new_baseline()
    ev = make_event(ts=0, action="view", resource="db/prod/x", environment="production",
                    geo={"country": "DE"})
    first = extract(base, ev, CTX)
    assert first["new_resource"] == first["new_network"] == first["new_country"] == 1.0
    assert first["new_sensitive_resource"] == 1.0
    update(base, ev, CTX)
    again = extract(base, make_event(ts=60, action="view", resource="db/prod/x",
                                     environment="production", geo={"country": "DE"}), CTX)
    assert again["new_resource"] == again["new_network"] == again["new_country"] == 0.0


def test_off_hours_is_rare_for_a_day_worker() -> None:
    base = new_baseline()
    for day in range(5):
        for h in range(9, 17):
            update(base, make_event(ts=day * 86400 + h * 3600 - 9 * 3600, action="view",
                                    resource="wiki/a"), CTX)
    # make_event's ts=0 is 09:00 UTC; 18 h later is 03:00 UTC the next day.
    night = extract(base, make_event(ts=5 * 86400 + 18 * 3600, action="view",
                                     resource="wiki/a"), CTX)
    noon = extract(base, make_event(ts=5 * 86400 + 3 * 3600, action="view",
                                    resource="wiki/a"), CTX)
    assert night["hour_rarity"] == 1.0
    assert noon["hour_rarity"] == 0.0


def test_baseline_stays_small_as_json() -> None:
    rows = generate_ml(MlScenarioSpec(users=12, days=7, seed=5))
    bases: dict = {}
    for ev, _ in rows:
        update(bases.setdefault(ev.user, new_baseline()), ev, CTX)
    sizes = [len(json.dumps(b, separators=(",", ":"))) for b in bases.values()]
    assert max(sizes) < 1024


def test_an_observation_gives_what_extract_then_update_give() -> None:
    from detectors.ml.features import Observation
    from detectors.ml.scenarios import MlScenarioSpec, generate_ml

    events = [ev for ev, _ in generate_ml(MlScenarioSpec(12, 8, 3))]
    one: dict[str, dict[str, object]] = {}
    two: dict[str, dict[str, object]] = {}
    for ev in events:
        a = one.setdefault(ev.user, new_baseline())
        b = two.setdefault(ev.user, new_baseline())
        expected = extract(a, ev, CTX)
        update(a, ev, CTX)
        seen = Observation(b, ev, CTX)
        assert seen.features(b) == expected
        seen.fold(b)
        assert b == a
    assert len(events) > 1000 and len(one) == 12


def test_smoothed_rarity_is_the_quarter_weighted_formula_exactly() -> None:
    import random

    from detectors.ml.features import _rarity

    rng = random.Random(5)
    for _ in range(500):
        hist = [rng.choice((0, 0, 1, 2, 3, 50, 999)) for _ in range(24)]
        i = rng.randrange(24)
        smoothed = [a + 0.25 * (b + c) for a, b, c in
                    zip(hist, hist[-1:] + hist[:-1], hist[1:] + hist[:1], strict=True)]
        top = max(smoothed)
        want = max(0.0, 1.0 - smoothed[i] / (0.5 * top)) if top > 0 else 1.0
        assert _rarity(hist, i, True) == want
        plain = max(hist)
        assert _rarity(hist, i, False) == (
            max(0.0, 1.0 - hist[i] / (0.5 * plain)) if plain > 0 else 1.0)
