"""`accessguard replay`, `replay --diff`, `config validate|schema` and `eval`, via main()."""

import importlib.util
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from detectors.config import default_config
from detectors.engine import Engine
from detectors.scenario import ATTACKS, ScenarioSpec, generate
from pipeline.cli import main

EXAMPLE_POLICY = Path(__file__).resolve().parents[2] / "config" / "example-policy.yaml"


@pytest.fixture(scope="module")
def labelled() -> list:
    return generate(ScenarioSpec(users=20, hours=2, attacks=ATTACKS[:8]))


@pytest.fixture
def history(tmp_path: Path, labelled: list) -> Path:
    lines = [ev.to_json().decode() for ev, _ in labelled]
    lines.insert(3, "{oops")  # line 4
    lines.reverse()  # replay must sort
    path = tmp_path / "history.ndjson"
    path.write_text("\n".join(lines) + "\n")
    return path


def expected_ids(labelled: list) -> list[str]:
    return [f.alert_id for f in Engine(default_config()).run(ev for ev, _ in labelled)]


def test_table_lists_alerts_and_counts_and_reports_invalid_lines(history, labelled, capsys
                                                                 ) -> None:
    assert main(["replay", str(history), "--no-geo"]) == 0
    out, err = capsys.readouterr()
    n = len(labelled) + 1
    assert err.strip() == f"line {n - 3}: not JSON: Expecting property name enclosed in " \
                          "double quotes at line 1 column 2"
    lines = out.splitlines()
    assert lines[0].split() == ["TIME", "(UTC)", "SEVERITY", "DETECTOR", "KEY", "TITLE"]
    assert any("failed_login_burst" in ln and "user007" in ln and "high" in ln for ln in lines)
    counts = dict(ln.split() for ln in lines[lines.index(next(ln for ln in lines
                  if ln.startswith("DETECTOR"))) + 1:] if len(ln.split()) == 2)
    assert counts["password_spray"] == "1" and counts["mfa_missing"] == "1"
    assert counts["total"] == str(len(expected_ids(labelled)))
    assert f"read {n:,} events (1 invalid line skipped)" in out


def test_ndjson_has_the_required_fields_and_the_stream_alert_ids(history, labelled, capsys
                                                                 ) -> None:
    assert main(["replay", str(history), "--output", "ndjson", "--no-geo"]) == 0
    out, err = capsys.readouterr()
    records = [json.loads(ln) for ln in out.splitlines()]
    assert [r["alert_id"] for r in records] == expected_ids(labelled)
    for r in records:
        assert {"alert_id", "detector", "severity", "key", "user", "source_ip", "first_seen",
                "last_seen", "event_ids", "explanation"} <= set(r)
        assert r["source_ip"] == (r["source_ips"][0] if r["source_ips"] else None)
    spray = next(r for r in records if r["detector"] == "password_spray")
    assert spray["source_ip"] == spray["key"] == "198.51.100.77" and spray["user"] is None
    assert len(spray["event_ids"]) == 10
    assert "line " in err and "events/s" in err


def test_stdin_and_an_alerts_section_in_the_config(tmp_path, labelled, capsys, monkeypatch
                                                   ) -> None:
    data = "\n".join(ev.to_json().decode() for ev, _ in labelled).encode()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    cfg = tmp_path / "c.yaml"
    cfg.write_text("detectors:\n  password_spray: {enabled: false}\n"
                   "alerts:\n  destinations: {out: {kind: console}}\n"
                   "  routes: {destinations: [out]}\n")
    assert main(["replay", "-", "-c", str(cfg), "-o", "ndjson", "--no-geo"]) == 0
    detectors = {json.loads(ln)["detector"] for ln in capsys.readouterr().out.splitlines()}
    assert "password_spray" not in detectors and "failed_login_burst" in detectors


def test_missing_file_is_one_error_line(tmp_path, capsys) -> None:
    assert main(["replay", str(tmp_path / "nope.ndjson"), "--no-geo"]) == 2
    assert capsys.readouterr().err.strip().endswith("nope.ndjson: cannot read: No such file or "
                                                    "directory")


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_diff_lowered_threshold_and_disabled_detector(tmp_path, history, capsys) -> None:
    new = write(tmp_path, "new.yaml", "detectors:\n  failed_login_burst: {threshold: 3}\n"
                "  password_spray: {enabled: false}\n")
    old = write(tmp_path, "old.yaml", "version: 1\n")
    assert main(["replay", str(history), "--config", str(new), "--diff", str(old),
                 "--no-geo"]) == 0
    out = capsys.readouterr().out
    assert "detectors.failed_login_burst.threshold: 5 -> 3" in out
    assert "detectors.password_spray.enabled: true -> false" in out
    rows = {ln.split()[0]: ln.split()[1:] for ln in out.splitlines()
            if ln.split() and ln.split()[0] in ("failed_login_burst", "password_spray",
                                                "total")}
    # brute force: same incident with 3 events instead of 5; failure_then_success's 5 slow
    # failures now make a 3-failure burst too
    assert rows["failed_login_burst"] == ["+1", "-0", "~1", "0"]
    assert rows["password_spray"] == ["+0", "-1", "~0", "0"]
    assert "- removed" in out and "Password spray from 198.51.100.77" in out
    assert "evidence.threshold: 5 -> 3" in out and "events: 5 -> 3" in out


def test_diff_ndjson_records(tmp_path, history, capsys) -> None:
    new = write(tmp_path, "new.yaml", "detectors:\n  failed_login_burst: {threshold: 3}\n"
                "  password_spray: {enabled: false}\n  mfa_fatigue: {severity: critical}\n")
    old = write(tmp_path, "old.yaml", "{}\n")
    assert main(["replay", str(history), "-c", str(new), "--diff", str(old), "-o", "ndjson",
                 "--no-geo"]) == 0
    out, err = capsys.readouterr()
    records = [json.loads(ln) for ln in out.splitlines()]
    kinds = sorted((r["change"], r["detector"]) for r in records)
    assert kinds == [("added", "failed_login_burst"), ("changed", "failed_login_burst"),
                     ("changed", "mfa_fatigue"), ("removed", "password_spray")]
    removed = next(r for r in records if r["change"] == "removed")
    assert removed["new"] is None and removed["old"]["detector"] == "password_spray"
    mfa = next(r for r in records if r["detector"] == "mfa_fatigue")
    assert mfa["fields"] == ["severity"]
    assert (mfa["old"]["severity"], mfa["new"]["severity"]) == ("high", "critical")
    assert mfa["old"]["alert_id"] == mfa["new"]["alert_id"]
    assert "detectors.mfa_fatigue.severity" in err


def test_diff_of_identical_configs_says_so(tmp_path, history, capsys) -> None:
    same = write(tmp_path, "same.yaml", "{}\n")
    assert main(["replay", str(history), "-c", str(same), "--diff", str(same),
                 "--no-geo"]) == 0
    out = capsys.readouterr().out
    assert "detector settings are identical" in out and "no differences" in out


def test_config_validate_good_files(tmp_path, capsys) -> None:
    assert main(["config", "validate", str(EXAMPLE_POLICY)]) == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith(f"{EXAMPLE_POLICY}: OK: ")
    names = out.split("(", 1)[1].split(")", 1)[0].split(", ")
    assert {"failed_login_burst", "policy_violation", "credential_hygiene"} <= set(names)
    assert f"OK: {len(names)} detectors enabled" in out
    with_alerts = write(tmp_path, "a.yaml", "detectors:\n  mfa_missing: {enabled: false}\n"
                        "alerts:\n  destinations: {out: {kind: console}}\n"
                        "  routes: {destinations: [out]}\n")
    assert main(["config", "validate", str(with_alerts)]) == 0
    out = capsys.readouterr().out
    assert "OK: " in out and "mfa_missing" not in out and "failed_login_burst" in out
    assert out.strip().endswith("alerts: 1 destination")
    assert main(["config", "validate", str(EXAMPLE_POLICY)]) == 0


def test_config_validate_lists_every_problem_with_its_line(tmp_path, capsys) -> None:
    bad = write(tmp_path, "bad.yaml", "\n".join([
        "version: 1",
        "detectors:",
        "  failed_login_burst:",
        "    threshold: 0",
        "    windw_seconds: 60",
        "  no_such_detector: {}",
        "alerts:",
        "  destinations:",
        "    hook: {kind: webhook, url: 'https://x'}",
        "  routes: {destinations: [hook]}",
    ]) + "\n")
    assert main(["config", "validate", str(bad)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        f"accessguard: {bad}:4: detectors.failed_login_burst.threshold: "
        "Input should be greater than or equal to 2",
        f"accessguard: {bad}:5: detectors.failed_login_burst.windw_seconds: unknown key",
        f"accessguard: {bad}:6: detectors.no_such_detector: unknown key",
        f"accessguard: {bad}:9: alerts.destinations.hook: 'url' would put a secret in the "
        "config file; name where it is kept instead (url_env or url_file)",
    ]


def test_config_validate_bad_yaml_and_missing_file(tmp_path, capsys) -> None:
    bad = write(tmp_path, "y.yaml", "detectors:\n  a: [1\n")
    assert main(["config", "validate", str(bad)]) == 2
    assert f"{bad}:3: not valid YAML" in capsys.readouterr().err
    assert main(["config", "validate", str(tmp_path / "none.yaml")]) == 2
    assert "none.yaml: cannot read" in capsys.readouterr().err


def test_config_schema_is_json_with_detectors_and_alerts(capsys) -> None:
    assert main(["config", "schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert {"detectors", "alerts", "sensitive_environments"} <= set(schema["properties"])
    assert schema["additionalProperties"] is False
    assert schema["properties"]["alerts"]["$ref"] == "#/$defs/AlertsConfig"
    assert "routes" in schema["$defs"]["AlertsConfig"]["properties"]
    assert "failed_login_burst" in schema["$defs"]["DetectorsConfig"]["properties"]


def test_eval_prints_per_detector_figures(capsys) -> None:
    assert main(["eval", "--users", "40", "--hours", "2"]) == 0
    out = capsys.readouterr().out
    rows = {ln.split()[0]: ln.split() for ln in out.splitlines() if ln.split()}
    assert rows["DETECTOR"][:4] == ["DETECTOR", "PLANTED", "DETECTED", "ALERTS"]
    assert rows["failed_login_burst"][1:6] == ["1", "1", "1", "1.00", "1.00"]
    assert rows["credential_hygiene"][1:3] == ["3", "3"]
    assert rows["failure_then_success"][6:9] == ["9", "min", "50"]  # median delay 9 min 50 s
    assert "target >= 0.98 for every detector: met" in out
    assert "false alerts: 0 = 0.00 per 100,000 benign events; target <= 1: met" in out


def test_eval_ml_without_the_ml_module(capsys, monkeypatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name.startswith("detectors.ml") else
                        real(name, *a))
    assert main(["eval", "--ml", "--users", "10"]) == 2
    assert "ML evaluation is not available in this build" in capsys.readouterr().err


def test_replay_reads_the_source_formats_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "auth.log"
    lines = [f"Mar  2 10:00:{i:02d} web1 sshd[{4000 + i}]: Failed password for root from "
             f"198.51.100.7 port {50000 + i} ssh2" for i in range(6)]
    log.write_text("\n".join([*lines, "Mar  2 10:00:09 web1 sshd[1]: garbled \x00"]) + "\n")
    assert main(["replay", "--format", "sshd", "--year", "2026", str(log), "--no-geo",
                 "-o", "ndjson"]) == 0
    out, err = capsys.readouterr()
    alerts = [json.loads(x) for x in out.splitlines() if x.strip()]
    assert [(a["detector"], a["user"]) for a in alerts] == [("failed_login_burst", "root")]
    assert alerts[0]["source_ip"] == "198.51.100.7"
    assert "sshd: parsed 6 events" in err


def test_workers_give_the_same_alerts_and_diff(tmp_path: Path, history: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    # A fresh process, as an analyst runs it: replay forks only from a single-threaded one.
    # The rules alone: the behavioural model's shared model keeps replay in one process.
    rules = write(tmp_path, "rules.yaml", "detectors:\n  behaviour_anomaly: {enabled: false}\n")

    def cli(*args: str, config: Path = rules) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "pipeline.cli", "replay", str(history),
                               "--no-geo", "--config", str(config), *args],
                              check=True, text=True, capture_output=True)

    one, two = cli("-o", "ndjson", "--workers", "1"), cli("-o", "ndjson", "-j", "2")
    assert one.stdout == two.stdout and len(one.stdout.splitlines()) >= 8
    assert "events/s)" in one.stderr and "events/s, detectors in 2 processes)" in two.stderr
    assert one.stderr.splitlines()[0] == two.stderr.splitlines()[0] != ""  # the bad line
    lowered = write(tmp_path, "lowered.yaml", "detectors:\n  behaviour_anomaly: "
                    "{enabled: false}\n  failed_login_burst: {threshold: 3}\n")
    diffs = [cli("--diff", str(rules), "-j", j, config=lowered).stdout for j in ("1", "3")]
    assert diffs[0].split("\nread ")[0] == diffs[1].split("\nread ")[0]
    assert "+1" in diffs[0] and "detectors in 3 processes" in diffs[1]
    with_model = cli("-j", "2", config=EXAMPLE_POLICY)
    assert "--workers 2: ran in one process: the behavioural model is on" in with_model.stderr
    assert "detectors in" not in with_model.stdout
    for wrong in ("none", "0", "9"):
        with pytest.raises(SystemExit) as bad:
            main(["replay", str(history), "--workers", wrong])
        assert bad.value.code == 2
        assert "a number of processes (1 to 8) or auto" in capsys.readouterr().err
