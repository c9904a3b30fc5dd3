"""``accessguard eval --ml``: score the behavioural detector on a labelled, seeded scenario.

Prints exact ROC-AUC and PR-AUC, precision and recall at the operating threshold, false ML
alerts per 100,000 benign events and detection delay (see detectors/ml/evaluate.py).
"""

from __future__ import annotations

import argparse

from detectors.config import default_config, load_config
from detectors.errors import ConfigError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="evaluate detectors on labelled synthetic scenarios")
    p.add_argument("--ml", action="store_true",
                   help="evaluate behaviour_anomaly on the behavioural scenarios")
    p.add_argument("--users", type=int, default=100, help="simulated users (default 100)")
    p.add_argument("--days", type=int, default=14, help="simulated days, at least 7 (default 14)")
    p.add_argument("--seed", type=int, default=42, help="scenario seed (default 42)")
    p.add_argument("--config", help="detector config file (default: the shipped one)")
    p.add_argument("--model", choices=("gaussian", "tail_hist", "hst", "oc_svm"),
                   help="override the configured shared model")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from detectors.ml.evaluate import evaluate
    from detectors.ml.scenarios import MlScenarioSpec, generate_ml

    if not args.ml:
        raise ConfigError(["eval: choose what to evaluate (only --ml is available)"])
    if args.users < 10 or args.days < 7:
        raise ConfigError(["eval: needs --users of at least 10 and --days of at least 7"])
    config = load_config(args.config) if args.config else default_config()
    section = config.detectors.behaviour_anomaly
    if args.model:
        section = section.model_copy(update={"model": args.model})
    rows = generate_ml(MlScenarioSpec(users=args.users, days=args.days, seed=args.seed))
    print(f"behaviour_anomaly (model {section.model}, seed {section.seed}) on "
          f"{args.users} users x {args.days} days, scenario seed {args.seed}")
    result = evaluate(rows, section)
    for line in result.lines():
        print(line)
    return 0
