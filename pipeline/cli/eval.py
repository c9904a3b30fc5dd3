"""``accessguard eval [--users N --hours H --seed S] [--config C] [--ml]``.

Generates the labelled scenario with every attack planted, runs the rule detectors over it
and prints, per detector, planted and detected attacks, precision, recall, detection delay
and false alerts per 100,000 benign events, with whether the targets (recall >= 0.98, at most
1 false alert per 100,000 benign events) are met (:mod:`detectors.evaluate`). Exits 1 when a
target is missed. ``--ml`` runs the online-model evaluation instead, when this build has it.

The scenario's benign users do not keep office hours, while the example policy's engineers
work 07:00-20:00 Amsterdam time from the scenario's start (Monday 09:00 UTC): runs longer
than about ten hours make ``unscheduled_access`` flag benign night-time work. Scale the
benign volume with ``--users`` rather than ``--hours``.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from detectors.evaluate import Evaluation


RULES_DEFAULT_USERS = 1000
ML_DEFAULT_USERS = 100


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "eval", help="score the detectors on a labelled synthetic scenario",
        description=__doc__.split("\n\n")[1] if __doc__ else None)
    p.add_argument("--users", type=int, default=None,
                   help="benign users (default 1000; with --ml: the ML evaluation's default)")
    p.add_argument("--hours", type=float, default=8.0, help="scenario length (default 8)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--runs", type=int, default=1, metavar="N",
                   help="pool N scenarios (seeds S, S+1, ...) for more planted attacks")
    p.add_argument("--config", "-c", metavar="C",
                   help="config YAML (default: config/example-policy.yaml, every detector on)")
    p.add_argument("--ml", action="store_true", help="evaluate the online models instead")
    p.add_argument("--days", type=int, default=14, help="with --ml: simulated days")
    p.add_argument("--model", choices=("gaussian", "tail_hist", "hst", "oc_svm"),
                   help="with --ml: override the configured shared model")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.ml:
        if args.users is None:
            args.users = ML_DEFAULT_USERS
        return _run_ml(args)
    if args.users is None:
        args.users = RULES_DEFAULT_USERS
    from detectors.evaluate import default_eval_spec, evaluate_scenario, merge
    from pipeline.config import load_app_config

    config = load_app_config(args.config).detectors if args.config else None
    seeds = range(args.seed, args.seed + max(1, args.runs))
    result = merge(evaluate_scenario(default_eval_spec(users=args.users, hours=args.hours,
                                                       seed=seed), config) for seed in seeds)
    which = f"seed {args.seed}" if len(seeds) == 1 else f"seeds {seeds[0]}-{seeds[-1]}"
    print_evaluation(result, title=f"{args.users} users, {args.hours:g} h, {which}")
    met = all(result.recall_met(s) is not False for s in result.scores.values())
    return 0 if met and result.false_alerts_met() else 1


def _run_ml(args: argparse.Namespace) -> int:
    """The behavioural model's evaluation (``detectors.ml``), when this build has it."""
    if importlib.util.find_spec("detectors.ml") is None or \
            importlib.util.find_spec("detectors.ml.evaluate") is None:
        print("ML evaluation is not available in this build", file=sys.stderr)
        return 2
    module = importlib.import_module("detectors.ml.evaluate")
    if hasattr(module, "run_ml_eval"):
        return int(module.run_ml_eval(args))
    return _run_ml_evaluate(args, module)


def _run_ml_evaluate(args: argparse.Namespace, module: Any) -> int:
    from detectors.config import default_config, load_config
    from detectors.errors import ConfigError

    scenarios = importlib.import_module("detectors.ml.scenarios")
    if args.users < 10 or args.days < 7:
        raise ConfigError(["eval: needs --users of at least 10 and --days of at least 7"])
    config = load_config(args.config) if args.config else default_config()
    section = config.detectors.behaviour_anomaly
    if args.model:
        section = section.model_copy(update={"model": args.model})
    rows = scenarios.generate_ml(scenarios.MlScenarioSpec(users=args.users, days=args.days,
                                                          seed=args.seed))
    print(f"behaviour_anomaly (model {section.model}, seed {section.seed}) on "
          f"{args.users} users x {args.days} days, scenario seed {args.seed}")
    for line in module.evaluate(rows, section).lines():
        print(line)
    return 0


def _num(value: float | None, fmt: str = ".2f") -> str:
    return "-" if value is None else format(value, fmt)


def _secs(value: float | None) -> str:
    if value is None:
        return "-"
    from detectors.text import duration

    return duration(value) if value else "0 s"


def _yes(flag: bool | None) -> str:
    return "-" if flag is None else ("yes" if flag else "NO")


def print_evaluation(result: Evaluation, *, title: str) -> None:
    from detectors.evaluate import FALSE_ALERTS_TARGET, RECALL_TARGET

    print(f"scenario: {title}: {result.events:,} events, {result.benign_events:,} benign")
    header = ["DETECTOR", "PLANTED", "DETECTED", "ALERTS", "PRECISION", "RECALL",
              "DELAY MEDIAN", "DELAY MAX", "FALSE/100K", "RECALL OK", "FALSE OK"]
    rows = []
    for s in result.scores.values():
        rows.append([
            s.detector, str(s.planted), str(s.detected), str(s.findings), _num(s.precision),
            _num(s.recall), _secs(s.median_delay), _secs(s.max_delay),
            _num(result.false_per_100k(s)), _yes(result.recall_met(s)),
            _yes(result.false_alerts_met(s)),
        ])
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                        for i, (c, w) in enumerate(zip(row, widths, strict=True))))
    print()
    recall = result.recall
    recall_ok = all(result.recall_met(s) is not False for s in result.scores.values())
    print(f"recall (all planted attacks): {_num(recall, '.3f')}; target >= {RECALL_TARGET} for "
          f"every detector: {'met' if recall_ok else 'NOT met'}")
    print(f"false alerts: {result.false_findings} = {result.false_per_100k():.2f} per 100,000 "
          f"benign events; target <= {FALSE_ALERTS_TARGET:g}: "
          f"{'met' if result.false_alerts_met() else 'NOT met'}")
