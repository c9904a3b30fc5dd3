"""Replay with the detectors split by key across processes: the same findings, in the same
order, as one process; failures of a process are errors, not missing alerts."""

import os
import random
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable

import pytest

import detectors.replay as replay_module
from detectors.config import Config
from detectors.engine import Engine, KeyShard
from detectors.evaluate import RULE_DETECTORS
from detectors.replay import (
    EVENTS_PER_WORKER,
    InvalidLine,
    ReplayError,
    ReplaySummary,
    replay,
    replay_many,
)
from detectors.scenario import ATTACKS, ScenarioSpec, generate, policy_config


@pytest.fixture(scope="module")
def labelled() -> list:
    # every attack, the example policy's users: all twelve rule detectors find something
    return generate(ScenarioSpec(users=30, hours=3, attacks=ATTACKS))


@pytest.fixture(scope="module")
def shuffled(labelled: list) -> list[bytes]:
    lines = [ev.to_json() for ev, _ in labelled]
    random.Random(11).shuffle(lines)
    lines.insert(7, b"{broken")
    lines.insert(100, b'{"event_id": "x"}')
    return lines


def rules() -> Engine:
    return Engine(policy_config(), only=RULE_DETECTORS)


@pytest.fixture(autouse=True)
def _single_threaded() -> None:
    # Replay forks only from a process with one thread; a test that means to fork must
    # know it will, or it would compare one process with itself.
    if threading.active_count() > 1:
        pytest.fail(f"{threading.active_count()} threads alive: replay would not fork here")


def test_every_key_belongs_to_exactly_one_shard_and_the_split_is_stable() -> None:
    keys = [f"user{i:03d}" for i in range(300)]
    for count in (2, 3, 5):
        shards = [KeyShard(i, count) for i in range(count)]
        owners = Counter(sum(s.owns("user", k) for s in shards) for k in keys)
        assert owners == {1: len(keys)}
        sizes = [sum(s.owns("user", k) for k in keys) for s in shards]
        assert min(sizes) > len(keys) / count / 2  # spread, not all on one
    with pytest.raises(ValueError, match="does not exist"):
        KeyShard(2, 2)


def test_another_process_with_another_hash_seed_splits_the_keys_alike() -> None:
    keys = [f"10.0.{i}.1" for i in range(40)]
    here = [KeyShard.shard_of("source_ip", k, 7) for k in keys]
    code = ("import sys; from detectors.engine import KeyShard; "
            "print(*[KeyShard.shard_of('source_ip', k, 7) for k in sys.argv[1:]])")
    there = subprocess.run([sys.executable, "-c", code, *keys], check=True, text=True,
                           capture_output=True, env={**os.environ, "PYTHONHASHSEED": "977"})
    assert [int(x) for x in there.stdout.split()] == here
    assert len(set(here)) == 7


def test_the_shards_of_an_engine_find_together_what_it_finds_alone(labelled: list) -> None:
    events = [ev for ev, _ in labelled]
    whole = list(rules().run(events))
    assert {f.detector for f in whole} >= set(RULE_DETECTORS) - {"behaviour_anomaly"}
    parts = [list(rules().run(events, KeyShard(i, 3))) for i in range(3)]
    assert all(parts)  # each shard finds something
    assert sorted(f.alert_id for part in parts for f in part) == sorted(f.alert_id
                                                                        for f in whole)


@pytest.mark.parametrize("workers", [2, 3])
def test_processes_give_one_process_findings_in_its_order(shuffled: list[bytes],
                                                          workers: int) -> None:
    one = replay(shuffled, rules())
    seen: list[InvalidLine] = []
    split = replay(shuffled, rules(), workers=workers, on_invalid=seen.append)
    assert split.summary.workers == workers and one.summary.workers == 1
    assert len(one.findings) >= 20
    assert split.findings == one.findings  # every field, and the order
    assert split.summary == ReplaySummary(events_read=one.summary.events_read, invalid=2,
                                          per_detector=one.summary.per_detector,
                                          workers=workers)
    assert [bad.line for bad in seen] == [8, 101]  # reported once, by the parent


def test_diff_runs_both_engines_over_one_parse(shuffled: list[bytes]) -> None:
    raw = policy_config().model_dump()
    raw["detectors"]["failed_login_burst"]["threshold"] = 3
    lowered = Config.model_validate(raw)
    engines = [rules(), Engine(lowered, only=RULE_DETECTORS)]
    summary = ReplaySummary()
    old, new = replay_many(shuffled, engines, summary, workers=2)
    assert summary.workers == 2 and summary.invalid == 2
    assert old == replay(shuffled, rules()).findings
    assert new == replay(shuffled, Engine(lowered, only=RULE_DETECTORS)).findings
    assert len(new) > len(old)


def test_a_shared_model_or_a_small_history_runs_in_one_process(shuffled: list[bytes]
                                                               ) -> None:
    with_model = Config.model_validate({"detectors": {"behaviour_anomaly": {
        "enabled": True, "warmup_events": 5, "model_warmup_events": 50}}})
    result = replay(shuffled, Engine(with_model), workers=2)
    assert result.summary.workers == 1
    assert result.findings == replay(shuffled, Engine(with_model)).findings
    assert len(shuffled) < EVENTS_PER_WORKER
    assert replay(shuffled, rules(), workers="auto").summary.workers == 1
    for wrong in (0, 9):
        with pytest.raises(ValueError, match="1 to 8"):
            replay(shuffled, rules(), workers=wrong)
    with pytest.raises(ValueError, match="shared model"):
        list(Engine(with_model).run([], KeyShard(0, 2)))


def test_auto_starts_one_process_per_block_of_events_up_to_the_cpus(monkeypatch) -> None:
    monkeypatch.setattr(replay_module, "_usable_cpus", lambda: 4)
    engines = [rules()]
    def count(*args):  # type: ignore[no-untyped-def]
        return replay_module._worker_count(*args)[0]

    assert count("auto", EVENTS_PER_WORKER - 1, engines) == 1
    assert count("auto", 3 * EVENTS_PER_WORKER, engines) == 3
    assert count("auto", 100 * EVENTS_PER_WORKER, engines) == 4
    assert count(6, 10, engines) == 6  # asked for: as asked


def sabotage(monkeypatch, index: int, act: Callable[[], None]) -> None:  # type: ignore[no-untyped-def]
    """Process ``index`` of a split replay calls ``act`` before doing its share."""
    real = replay_module._run_part

    def part(engines, lines, routes, shard, alive):  # type: ignore[no-untyped-def]
        if shard.index == index:
            act()
        return real(engines, lines, routes, shard, alive)

    monkeypatch.setattr(replay_module, "_run_part", part)


def raising(message: str) -> Callable[[], None]:
    def act() -> None:
        raise RuntimeError(message)
    return act


def test_a_failing_process_is_an_error_not_fewer_alerts(shuffled: list[bytes],
                                                        monkeypatch) -> None:
    sabotage(monkeypatch, 1, raising("detector blew up"))
    with pytest.raises(ReplayError, match="process 1 of 2 failed: RuntimeError: detector"):
        replay(shuffled, rules(), workers=2)


def test_a_process_that_dies_is_an_error(shuffled: list[bytes], monkeypatch) -> None:
    sabotage(monkeypatch, 2, lambda: os._exit(3))
    with pytest.raises(ReplayError, match=r"process 2 of 3 died \(exit code 3\)"):
        replay(shuffled, rules(), workers=3)


def test_a_process_that_dies_after_routing_is_an_error(shuffled: list[bytes],
                                                       monkeypatch) -> None:
    # the others have waited for its routes and gone on: its findings are missing
    real_wait = replay_module._Routes.wait

    def wait_then_die(self, others_alive):  # type: ignore[no-untyped-def]
        masks = real_wait(self, others_alive)
        if os.getpid() != parent:
            os._exit(5)
        return masks

    parent = os.getpid()
    monkeypatch.setattr(replay_module._Routes, "wait", wait_then_die)
    with pytest.raises(ReplayError, match=r"process 1 of 2 died \(exit code 5\)"):
        replay(shuffled, rules(), workers=2)


def test_when_the_first_process_fails_the_others_are_stopped(shuffled: list[bytes],
                                                             monkeypatch) -> None:
    import multiprocessing

    sabotage(monkeypatch, 0, raising("parent blew up"))  # the others wait for its routes
    with pytest.raises(RuntimeError, match="parent blew up"):
        replay(shuffled, rules(), workers=3)
    assert multiprocessing.active_children() == []
