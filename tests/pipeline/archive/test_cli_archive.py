from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from pipeline.cli import main

from .conftest import event_items, rewrite, segments


def _events_file(path: Path, n: int = 40, bad: tuple[bytes, ...] = ()) -> Path:
    lines = [json.dumps(data).encode() for _, data, _ in event_items(n)]
    path.write_bytes(b"\n".join([*lines[:5], *bad, *lines[5:]]) + b"\n")
    return path


@pytest.fixture
def keys(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    assert main(["archive", "keygen", "--out", str(tmp_path / "k")]) == 0
    assert "fingerprint sha256:" in capsys.readouterr().out
    return tmp_path / "k"


def test_keygen_writes_a_private_key_only_its_owner_reads(keys: Path) -> None:
    assert stat.S_IMODE(Path(f"{keys}.key").stat().st_mode) == 0o600
    assert Path(f"{keys}.pub").read_text().startswith("-----BEGIN PUBLIC KEY-----")


def test_keygen_refuses_to_overwrite(keys: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["archive", "keygen", "--out", str(keys)]) == 2
    assert (
        capsys.readouterr().err.strip() == f"accessguard: {keys}.key already exists; "
        "not overwriting a key"
    )


def test_write_verify_search_round_trip(
    tmp_path: Path, keys: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _events_file(tmp_path / "events.ndjson", bad=(b"{not json", b'{"user": "x"}'))
    d = tmp_path / "arch"
    code = main(
        [
            "archive",
            "write",
            "--from",
            str(src),
            "--dir",
            str(d),
            "--key",
            f"{keys}.key",
            "--segment-bytes",
            "4000",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "archived 40 event(s) and 2 dead letter(s)" in out and "seq 1..42" in out

    assert main(["archive", "verify", str(d), "--public-key", f"{keys}.pub"]) == 0
    out = capsys.readouterr().out
    assert f"archive {d} intact:" in out and "42 record(s)" in out

    assert main(["archive", "search", str(d), "--kind", "dead_letter"]) == 0
    captured = capsys.readouterr()
    dead = [json.loads(line) for line in captured.out.splitlines()]
    assert [r["data"]["line"] for r in dead] == [6, 7]
    assert dead[0]["data"]["reason"].startswith("not JSON")
    assert "2 record(s) matched" in captured.err

    assert (
        main(
            [
                "archive",
                "search",
                str(d),
                "--user",
                "user003",
                "--action",
                "view",
                "--since",
                "2026-03-02T09:00:00Z",
                "--until",
                "2026-03-02T13:00:00+00:00",
            ]
        )
        == 0
    )
    hits = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert hits and all(h["data"]["user"] == "user003" for h in hits)


def test_verify_names_the_modified_line(
    tmp_path: Path, keys: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = tmp_path / "arch"
    main(
        [
            "archive",
            "write",
            "--from",
            str(_events_file(tmp_path / "e.ndjson")),
            "--dir",
            str(d),
            "--key",
            f"{keys}.key",
            "--segment-bytes",
            "4000",
        ]
    )
    seg = segments(d)[1]
    lines = seg.read_bytes().splitlines(keepends=True)
    lines[2] = lines[2].replace(b'"view"', b'"delete"', 1).replace(b'"modify"', b'"delete"', 1)
    rewrite(seg, b"".join(lines))
    capsys.readouterr()
    assert main(["archive", "verify", str(d)]) == 1
    captured = capsys.readouterr()
    assert captured.out.splitlines()[0] == (
        f"segment {seg.name} line 3: record modified (its hash does not match its content)"
    )
    assert captured.err == f"accessguard: archive {d} failed verification: 1 problem(s)\n"


def test_verify_against_another_public_key_and_an_empty_directory(
    tmp_path: Path, keys: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = tmp_path / "arch"
    src = _events_file(tmp_path / "e.ndjson", n=5)
    main(["archive", "write", "--from", str(src), "--dir", str(d), "--key", f"{keys}.key"])
    main(["archive", "keygen", "--out", str(tmp_path / "other")])
    capsys.readouterr()
    assert main(["archive", "verify", str(d), "--public-key", str(tmp_path / "other.pub")]) == 1
    line = capsys.readouterr().out.splitlines()[0]
    assert line.startswith(f"seal {segments(d)[0].name}.seal.json is signed with another key")
    (tmp_path / "empty").mkdir()
    assert main(["archive", "verify", str(tmp_path / "empty")]) == 1
    assert capsys.readouterr().out == "no segments found (is this an archive directory?)\n"


def test_write_takes_the_key_from_the_environment(
    tmp_path: Path,
    keys: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ACCESSGUARD_ARCHIVE_SIGNING_KEY", Path(f"{keys}.key").read_text())
    src = _events_file(tmp_path / "e.ndjson", n=3)
    assert main(["archive", "write", "--from", str(src), "--dir", str(tmp_path / "a")]) == 0
    assert main(["archive", "verify", str(tmp_path / "a"), "--public-key", f"{keys}.pub"]) == 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["archive", "write", "--from", "{tmp}/e.ndjson", "--dir", "{tmp}/a"],
            "no signing key: pass --key FILE or set ACCESSGUARD_ARCHIVE_SIGNING_KEY",
        ),
        (
            [
                "archive",
                "write",
                "--from",
                "{tmp}/missing",
                "--dir",
                "{tmp}/a",
                "--key",
                "{tmp}/k.key",
            ],
            "{tmp}/missing: no such file",
        ),
        (
            [
                "archive",
                "write",
                "--from",
                "{tmp}/e.ndjson",
                "--dir",
                "{tmp}/a",
                "--key",
                "{tmp}/e.ndjson",
            ],
            "{tmp}/e.ndjson is not an Ed25519 private key (PEM or base64)",
        ),
        (["archive", "verify", "{tmp}/nope"], "archive directory {tmp}/nope does not exist"),
        (
            ["archive", "search", "{tmp}", "--since", "2026-03-02"],
            "--since '2026-03-02' needs a UTC offset, e.g. 2026-03-02T09:00:00Z",
        ),
        (
            ["archive", "search", "{tmp}", "--until", "yesterday"],
            "--until 'yesterday' is not an RFC 3339 time",
        ),
    ],
)
def test_errors_are_one_line_without_traceback(
    tmp_path: Path,
    keys: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    message: str,
) -> None:
    monkeypatch.delenv("ACCESSGUARD_ARCHIVE_SIGNING_KEY", raising=False)
    _events_file(tmp_path / "e.ndjson", n=2)
    tmp = str(tmp_path)
    assert main([a.replace("{tmp}", tmp) for a in argv]) == 2
    assert capsys.readouterr().err == f"accessguard: {message.replace('{tmp}', tmp)}\n"
