"""Compare the shared anomaly models on the behavioural scenarios: quality and cost.

    python benchmarks/ml_models.py [--users 100 --days 14 --seed 42]

For each model: exact ROC-AUC and PR-AUC over the events scored after the users' warm-up,
instance recall and false alerts per 100,000 benign events at the adaptive threshold, and the
cost of the model alone (score_one + learn_one on the recorded feature dicts, µs/event).
"""

from __future__ import annotations

import argparse
import time

from detectors.ml.behaviour_anomaly import BehaviourAnomaly, BehaviourAnomalyConfig
from detectors.ml.evaluate import evaluate
from detectors.ml.features import extract
from detectors.ml.models import MODELS, make_model
from detectors.ml.scenarios import MlScenarioSpec, generate_ml


def model_cost(feature_rows: list[dict[str, float]], name: str) -> float:
    """µs per event for score_one + learn_one of a fresh model over recorded features."""
    model = make_model(name, seed=42)  # type: ignore[arg-type]
    start = time.perf_counter()
    for x in feature_rows:
        model.score_one(x)
        model.learn_one(x)
    return (time.perf_counter() - start) / len(feature_rows) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    rows = generate_ml(MlScenarioSpec(users=args.users, days=args.days, seed=args.seed))
    # Record the feature dicts once (the baseline does not depend on the model).
    det = BehaviourAnomaly(BehaviourAnomalyConfig())
    states: dict = {}
    feats = []
    for ev, _ in rows:
        st = states.get(ev.user)
        if st is not None and st["n"] >= det.config.warmup_events:
            feats.append(extract(st["b"], ev, det._ctx))
        states[ev.user], _ = det.step(st, ev)
    feats = feats[:20_000]
    print(f"{len(rows)} events, {args.users} users x {args.days} days, seed {args.seed}")
    print("inst.@5/100k: instances caught by a fixed threshold passing 5 benign events per "
          "100,000 (model-neutral); the other columns use the configured adaptive threshold")
    print(f"{'model':<10} {'ROC-AUC':>8} {'PR-AUC':>7} {'inst.@5/100k':>12} {'inst.':>6} "
          f"{'prec.':>6} {'false/100k':>10} {'µs/event':>9}")
    for name in MODELS:
        res = evaluate(rows, BehaviourAnomalyConfig(model=name))
        caught = sum(1 for d in res.delays.values() if d is not None)
        neutral, _ = res.instances_at_fpr(5.0)
        print(f"{name:<10} {res.roc_auc:8.4f} {res.pr_auc:7.4f} "
              f"{neutral:>9}/{len(res.delays):<2} {caught:>3}/{len(res.delays):<2} "
              f"{res.precision:6.3f} {res.false_per_100k:10.2f} "
              f"{model_cost(feats, name):9.1f}")


if __name__ == "__main__":
    main()
