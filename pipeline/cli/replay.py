"""``accessguard replay FILE|- [--config C] [--diff OLD] [--output table|ndjson]``.

Runs the stream's detector code offline over an NDJSON history in event-time order
(:mod:`detectors.replay`). With ``--diff OLD`` it runs both configs over the same events and
shows what the change from OLD to the ``--config`` one does: the config keys that changed,
then per detector how many alerts are added, removed or changed, then each of them
(:mod:`detectors.diff`). Invalid lines go to stderr as ``line N: reason``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from detectors.diff import AlertChange, ConfigChange, FindingsDiff
    from detectors.engine import Engine
    from detectors.findings import Finding
    from detectors.replay import InvalidLine, ReplaySummary
    from pipeline.config import AppConfig


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "replay", help="run the detectors offline over an NDJSON history (and diff configs)",
        description="Run the detectors over NDJSON events in event-time order. With --diff, "
                    "show which alerts a config change adds, removes or changes.")
    p.add_argument("file", metavar="FILE", help="NDJSON events, '-' for stdin")
    p.add_argument("--config", "-c", metavar="C",
                   help="config YAML (default: the shipped defaults); with --diff: the NEW one")
    p.add_argument("--diff", metavar="OLD",
                   help="compare against this (old) config over the same events")
    p.add_argument("--output", "-o", choices=("table", "ndjson"), default="table")
    p.add_argument("--format", "-f", default="ndjson",
                   choices=("ndjson", "sshd", "cloudtrail", "k8s-audit", "github-audit"),
                   help="input format (the same adapters as `accessguard ingest`)")
    p.add_argument("--year", type=int, help="year of BSD syslog timestamps (sshd)")
    p.add_argument("--tz", default="UTC", help="IANA zone of syslog timestamps without one")
    p.add_argument("--assume-sorted", action="store_true",
                   help="the file is in event-time order: stream it instead of sorting in "
                        "memory (events that go back in time are counted)")
    p.add_argument("--max-events", type=int, default=None, metavar="N",
                   help="most events to sort in memory (default 5,000,000)")
    p.add_argument("--workers", "-j", type=_workers, default="auto", metavar="N|auto",
                   help="processes the detectors run in, the keys split between them (same "
                        "alerts, same order; default auto: one per CPU, one per 20,000 events; "
                        "one with --assume-sorted or the behavioural model on)")
    p.add_argument("--no-geo", action="store_true",
                   help="no offline geo-IP lookup for events without geo (the worker uses one)")
    p.set_defaults(run=run)


def _workers(text: str) -> int | str:
    if text == "auto":
        return text
    try:
        value = int(text)
    except ValueError:
        value = 0
    from detectors.replay import MAX_WORKERS

    if not 1 <= value <= MAX_WORKERS:
        raise argparse.ArgumentTypeError(
            f"{text!r}: a number of processes (1 to {MAX_WORKERS}) or auto")
    return value


def run(args: argparse.Namespace) -> int:
    from detectors.replay import MAX_SORTED_EVENTS, ReplaySummary

    new_cfg = _load(args.config)
    summary = ReplaySummary()
    max_events = args.max_events if args.max_events is not None else MAX_SORTED_EVENTS
    started = time.perf_counter()
    with _open_lines(args.file) as raw_lines:
        lines = raw_lines if args.format == "ndjson" else _from_source(raw_lines, args)
        if args.diff is not None:
            old_cfg = _load(args.diff)
            return _run_diff(args, lines, old_cfg, new_cfg, summary, max_events, started)
        return _run_replay(args, lines, new_cfg, summary, max_events, started)


def _load(path: str | None) -> AppConfig:
    from alerts.config import AlertsConfig
    from detectors.config import default_config
    from pipeline.config import AppConfig, load_app_config

    if path is None:
        return AppConfig(detectors=default_config(), alerts=AlertsConfig())
    return load_app_config(path)


@contextmanager
def _open_lines(name: str) -> Iterator[Iterable[bytes]]:
    from detectors.replay import ReplayError

    if name == "-":
        yield sys.stdin.buffer
        return
    try:
        # Opened apart from the `with`: only opening errors become a ReplayError (a
        # BrokenPipeError while writing output must reach main() as it is).
        fh = Path(name).open("rb")  # noqa: SIM115
    except OSError as exc:
        raise ReplayError(f"{name}: cannot read: {exc.strerror or exc}") from exc
    with fh:
        yield fh


def _from_source(lines: Iterable[bytes], args: argparse.Namespace) -> Iterator[bytes]:
    """A log in another format, as v1 NDJSON; its bad lines reported like invalid events."""
    from datetime import UTC, datetime

    from detectors.sources import Skipped, SourceOptions, Summary, parse_source

    # The wall clock belongs here at the edge: syslog lines carry no year.
    options = SourceOptions(year=args.year or datetime.now(UTC).year, tz=args.tz)
    summary = Summary()
    text = (line.decode("utf-8", errors="replace").rstrip("\n") for line in lines)
    for item in summary.track(parse_source(args.format, text, options)):
        if isinstance(item, Skipped):
            if item.bad:
                print(f"line {item.line_no}: {item.reason}"
                      + (f": {item.detail}" if item.detail else ""), file=sys.stderr)
            continue
        yield item.to_json()
    print(f"{args.format}: {summary.format()}", file=sys.stderr)


def _engine(cfg: AppConfig, args: argparse.Namespace) -> Engine:
    from detectors.engine import Engine
    from detectors.geo import GeoIP2FastLookup, GeoLookup, NullGeoLookup

    geo: GeoLookup = NullGeoLookup() if args.no_geo else GeoIP2FastLookup.load()
    return Engine(cfg.detectors, geo=geo)


def _report_invalid(bad: InvalidLine) -> None:
    print(f"line {bad.line}: {bad.reason}", file=sys.stderr)


def alert_record(finding: Finding) -> dict[str, Any]:
    """One alert as the JSON record ``--output ndjson`` prints."""
    from alerts.model import Alert

    record = Alert.from_finding(finding).model_dump(mode="json")
    record["source_ip"] = finding.source_ips[0] if finding.source_ips else None
    return record


def _run_replay(args: argparse.Namespace, lines: Iterable[bytes], cfg: AppConfig,
                summary: ReplaySummary, max_events: int, started: float) -> int:
    from detectors.replay import replay_iter

    engine = _engine(cfg, args)
    started = time.perf_counter()  # the rate covers reading, parsing and detecting
    found = replay_iter(lines, engine, summary, assume_sorted=args.assume_sorted,
                        max_events=max_events, on_invalid=_report_invalid,
                        workers=args.workers)
    if args.output == "ndjson":
        out = sys.stdout
        for f in found:  # streams with --assume-sorted
            out.write(json.dumps(alert_record(f)) + "\n")
        out.flush()
        _note_one_process(args, summary)
        print(_footer(summary, time.perf_counter() - started), file=sys.stderr)
        return 0
    findings = list(found)
    _note_one_process(args, summary)
    _print_alert_table(findings)
    print()
    _print_counts(summary.per_detector)
    print()
    print(_footer(summary, time.perf_counter() - started))
    return 0


def _note_one_process(args: argparse.Namespace, summary: ReplaySummary) -> None:
    """Say why an explicit ``--workers N`` ran in one process."""
    if args.workers != "auto" and summary.one_process_because is not None:
        print(f"--workers {args.workers}: ran in one process: "
              f"{summary.one_process_because}", file=sys.stderr)


def _when(ts: float) -> str:
    from detectors.findings import utc

    return utc(ts).strftime("%Y-%m-%d %H:%M:%S")


def _table(rows: list[list[str]], header: list[str], right: Iterable[int] = ()) -> list[str]:
    right = set(right)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def fmt(row: list[str]) -> str:
        cells = [c.rjust(w) if i in right else c.ljust(w)
                 for i, (c, w) in enumerate(zip(row, widths, strict=True))]
        return "  ".join(cells).rstrip()

    return [fmt(header), *(fmt(r) for r in rows)]


def _alert_row(f: Finding) -> list[str]:
    return [_when(f.first_seen), f.severity, f.detector, f.key, f.title]


def _print_alert_table(findings: list[Finding]) -> None:
    if not findings:
        print("no alerts")
        return
    rows = [_alert_row(f) for f in sorted(findings, key=lambda f: f.first_seen)]
    for line in _table(rows, ["TIME (UTC)", "SEVERITY", "DETECTOR", "KEY", "TITLE"]):
        print(line)


def _print_counts(per_detector: dict[str, int]) -> None:
    rows = [[name, str(n)] for name, n in sorted(per_detector.items())]
    rows.append(["total", str(sum(per_detector.values()))])
    for line in _table(rows, ["DETECTOR", "ALERTS"], right=[1]):
        print(line)


def _footer(summary: ReplaySummary, seconds: float) -> str:
    text = f"read {summary.events_read:,} events"
    if summary.invalid:
        text += f" ({summary.invalid:,} invalid line{'s' if summary.invalid != 1 else ''} skipped)"
    if summary.out_of_order:
        text += (f"; {summary.out_of_order:,} events were out of event-time order "
                 "(processed in input order because of --assume-sorted)")
    rate = summary.valid / seconds if seconds > 0 else 0.0
    text += f"; {summary.findings:,} alerts in {seconds:.2f} s ({rate:,.0f} events/s"
    if summary.workers > 1:
        text += f", detectors in {summary.workers} processes"
    return text + ")"


# --- diff --------------------------------------------------------------------------------


def _run_diff(args: argparse.Namespace, lines: Iterable[bytes], old_cfg: AppConfig,
              new_cfg: AppConfig, summary: ReplaySummary, max_events: int,
              started: float) -> int:
    from detectors.diff import config_changes, diff_findings
    from detectors.replay import replay_many

    old, new = replay_many(lines, [_engine(old_cfg, args), _engine(new_cfg, args)], summary,
                           assume_sorted=args.assume_sorted, max_events=max_events,
                           on_invalid=_report_invalid, workers=args.workers)
    _note_one_process(args, summary)
    diff = diff_findings(old, new)
    # The raw alerts: section (if the detector model carries it) is compared as AlertsConfig.
    cfg_changes = config_changes(old_cfg.detectors.model_dump(mode="json", exclude={"alerts"}),
                                 new_cfg.detectors.model_dump(mode="json", exclude={"alerts"}))
    alerts_differ = old_cfg.alerts != new_cfg.alerts
    seconds = time.perf_counter() - started
    if args.output == "ndjson":
        for c in diff.changes:
            print(json.dumps(change_record(c)))
        info = sys.stderr
    else:
        info = sys.stdout
    _print_diff_summary(args, cfg_changes, alerts_differ, diff, len(old), len(new), summary,
                        seconds, info)
    if args.output == "table":
        _print_diff_details(diff.changes)
    return 0


def change_record(change: AlertChange) -> dict[str, Any]:
    """One diff record as ``--diff --output ndjson`` prints it."""
    return {
        "change": change.change,
        "detector": change.detector,
        "fields": list(change.fields),
        "old": alert_record(change.old) if change.old is not None else None,
        "new": alert_record(change.new) if change.new is not None else None,
    }


def _show(value: Any) -> str:
    from detectors.diff import MISSING

    if value is MISSING:
        return "(not set)"
    return json.dumps(value)


def _print_diff_summary(args: argparse.Namespace, cfg_changes: list[ConfigChange],
                        alerts_differ: bool, diff: FindingsDiff, n_old: int, n_new: int,
                        summary: ReplaySummary, seconds: float, out: IO[str]) -> None:
    new_name = args.config or "(defaults)"
    print(f"config change: {args.diff} -> {new_name}", file=out)
    if not cfg_changes:
        print("  detector settings are identical", file=out)
    for c in cfg_changes:
        print(f"  {c.path}: {_show(c.old)} -> {_show(c.new)}", file=out)
    if alerts_differ:
        print("  (the alerts: sections differ too; they do not change which alerts fire)",
              file=out)
    print(file=out)
    print(f"alerts: {n_old} before, {n_new} after ({len(diff.changes)} differences, "
          f"{diff.unchanged} unchanged)", file=out)
    counts = diff.counts()
    if counts:
        rows = [[name, f"+{c['added']}", f"-{c['removed']}", f"~{c['changed']}",
                 str(c["unchanged"])] for name, c in counts.items()]
        tot = {k: sum(c[k] for c in counts.values())
               for k in ("added", "removed", "changed", "unchanged")}
        rows.append(["total", f"+{tot['added']}", f"-{tot['removed']}", f"~{tot['changed']}",
                     str(tot["unchanged"])])
        for line in _table(rows, ["DETECTOR", "ADDED", "REMOVED", "CHANGED", "UNCHANGED"],
                           right=[1, 2, 3, 4]):
            print(line, file=out)
    print(file=out)
    print(_footer(summary, seconds).replace(f"; {summary.findings:,} alerts", ""), file=out)


_MARK = {"added": "+", "removed": "-", "changed": "~"}


def _print_diff_details(changes: list[AlertChange]) -> None:
    if not changes:
        print()
        print("no differences")
        return
    for c in changes:
        f = c.finding
        print()
        print(f"{_MARK[c.change]} {c.change:<8} {_when(f.first_seen)}  {f.severity:<8} "
              f"{f.detector}  {f.key}  {f.title}")
        if c.change != "changed":
            print(f"    {f.explanation}")
            print(f"    alert {f.alert_id}, {len(f.event_ids)} events")
            continue
        assert c.old is not None and c.new is not None
        for line in describe_change(c.old, c.new, c.fields):
            print(f"    {line}")


def describe_change(old: Finding, new: Finding, fields: Iterable[str]) -> list[str]:
    """Readable lines for what changed between two findings of one incident."""
    out: list[str] = []
    for name in fields:
        if name == "alert_id":
            out.append(f"alert id: {old.alert_id} -> {new.alert_id} "
                       "(the incident now opens at another event)")
        elif name in ("first_seen", "last_seen"):
            before, after = getattr(old, name), getattr(new, name)
            out.append(f"{name}: {_when(before)} -> {_when(after)} ({after - before:+g} s)")
        elif name == "event_ids":
            gone = [e for e in old.event_ids if e not in set(new.event_ids)]
            came = [e for e in new.event_ids if e not in set(old.event_ids)]
            text = f"events: {len(old.event_ids)} -> {len(new.event_ids)}"
            if came:
                text += f"; + {_ids(came)}"
            if gone:
                text += f"; - {_ids(gone)}"
            out.append(text)
        elif name == "evidence":
            keys = [*old.evidence, *(k for k in new.evidence if k not in old.evidence)]
            for k in keys:
                a, b = old.evidence.get(k, "(none)"), new.evidence.get(k, "(none)")
                if a != b:
                    out.append(f"evidence.{k}: {json.dumps(a, default=str)} -> "
                               f"{json.dumps(b, default=str)}")
        elif name == "explanation":
            out.append(f"explanation was: {old.explanation}")
            out.append(f"explanation now: {new.explanation}")
        else:
            out.append(f"{name}: {getattr(old, name)} -> {getattr(new, name)}")
    return out


def _ids(ids: list[str], most: int = 4) -> str:
    shown = ", ".join(ids[:most])
    return shown + (f" and {len(ids) - most} more" if len(ids) > most else "")
