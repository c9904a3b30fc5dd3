import pickle
import random
import subprocess
import sys

import pytest

from detectors.ml.features import FEATURES
from detectors.ml.models import MODELS, make_model
from detectors.ml.threshold import AdaptiveThreshold


def _rows(n: int, seed: int = 1) -> list[dict[str, float]]:
    rng = random.Random(seed)
    return [{f: rng.random() * 0.3 for f in FEATURES} for _ in range(n)]


@pytest.mark.parametrize("name", MODELS)
def test_scores_in_unit_range_and_pickle_round_trip(name: str) -> None:
    model = make_model(name, seed=3)
    rows = _rows(400)
    for x in rows[:300]:
        model.learn_one(x)
    copy = pickle.loads(pickle.dumps(model))
    for x in rows[300:]:
        s = model.score_one(x)
        assert 0.0 <= s <= 1.0
        assert copy.score_one(x) == s


@pytest.mark.parametrize("name", ["tail_hist", "gaussian", "hst"])
def test_an_outlier_outscores_the_usual(name: str) -> None:
    model = make_model(name, seed=3)
    for x in _rows(1500):
        model.learn_one(x)
    usual = dict.fromkeys(FEATURES, 0.15)
    odd = {**usual, "hour_rarity": 1.0, "rate": 1.0, "new_resource": 1.0}
    assert model.score_one(odd) > model.score_one(usual)


def test_threshold_sits_above_ordinary_scores_not_on_the_anomalies() -> None:
    t = AdaptiveThreshold(q=0.99, spread=0.8, refresh=100)
    rng = random.Random(2)
    for i in range(20_000):
        # 0.5% anomalies at 0.9: the extreme tail, which a plain Q(0.999) would sit on.
        t.update(0.9 if i % 200 == 0 else rng.uniform(0.0, 0.3))
    assert 0.3 < t.value() < 0.9
    assert t.quantile(0.999) >= 0.9


def test_threshold_follows_drift() -> None:
    t = AdaptiveThreshold(q=0.99, spread=0.0, half_life=1000, refresh=100)
    for _ in range(5000):
        t.update(0.1)
    low = t.value()
    for _ in range(10_000):
        t.update(0.5)
    assert low <= 0.11 and t.value() >= 0.5


def test_scipy_is_imported_only_by_the_models_that_need_it() -> None:
    # river.anomaly pulls in SciPy: ~2 s at the start of every command if imported eagerly.
    probe = ("import sys\n"
             "from pipeline.cli import main\n"
             "from detectors.config import default_config\n"
             "from detectors.engine import Engine\n"
             "Engine(default_config())\n"  # the default model, tail_hist
             "print('scipy' in sys.modules, end=' ')\n"
             "from detectors.ml.models import make_model\n"
             "make_model('hst', seed=1)\n"
             "print('scipy' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True,
                         text=True).stdout
    assert out.split() == ["False", "True"]
