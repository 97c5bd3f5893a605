"""pybreaker's state machine over a breaker's snapshot, in memory: what each outcome and each admission writes."""

from __future__ import annotations

import time

import pytest

from scanfleet.breakers.circuit import CLOSED, HALF_OPEN, OPEN, Circuit, Snapshot

FAIL_MAX, RESET, TRIAL = 3, 30.0, 10.0


def decided(snapshot: Snapshot, *outcomes: bool) -> Circuit:
    circuit = Circuit(snapshot, FAIL_MAX, RESET)
    for ok in outcomes:
        circuit.record(ok)
    return circuit


def opened(ago: float) -> Snapshot:
    at = time.time() - ago
    return Snapshot(OPEN, FAIL_MAX, opened_at=at, since=at - 100)


def test_a_healthy_breaker_is_no_snapshot_at_all() -> None:
    assert Snapshot().encode() == ""
    assert Snapshot.decode("") == Snapshot()
    counted = Snapshot(failures=2)
    assert Snapshot.decode(counted.encode()) == counted


def test_failures_in_a_row_open_it_and_a_success_clears_the_count() -> None:
    counted = decided(Snapshot(), False, False)
    assert counted.after == Snapshot(failures=2) and counted.transitions == []

    cleared = decided(counted.after, True)
    assert cleared.changed and cleared.after.encode() == ""

    tripped = decided(counted.after, False)
    assert tripped.after.state == OPEN
    assert tripped.after.opened_at == pytest.approx(time.time(), abs=1)
    assert tripped.after.since == tripped.after.opened_at
    assert tripped.transitions == [(CLOSED, OPEN)]


def test_a_success_on_a_healthy_breaker_changes_nothing() -> None:
    assert not decided(Snapshot(), True).changed


def test_while_open_calls_wait_for_the_timeout_and_late_outcomes_are_ignored() -> None:
    snapshot = opened(ago=5)
    circuit = Circuit(snapshot, FAIL_MAX, RESET)
    assert snapshot.opened_at is not None
    assert circuit.admit(time.time(), TRIAL) == pytest.approx(snapshot.opened_at + RESET)
    assert not circuit.changed
    assert not decided(snapshot, False).changed  # a call started before it opened
    assert not decided(snapshot, True).changed


def test_past_the_timeout_the_first_caller_claims_the_trial_and_others_wait_for_it() -> None:
    now = time.time()
    first = Circuit(opened(ago=RESET + 1), FAIL_MAX, RESET)
    assert first.admit(now, TRIAL) is None
    assert (first.after.state, first.after.trial_until) == (HALF_OPEN, now + TRIAL)
    assert first.transitions == [(OPEN, HALF_OPEN)]

    second = Circuit(first.after, FAIL_MAX, RESET)
    assert second.admit(now + 1, TRIAL) == now + TRIAL
    assert not second.changed


def test_a_trial_claim_lapses_so_a_dead_caller_cannot_wedge_the_circuit() -> None:
    now = time.time()
    claimed = Snapshot(HALF_OPEN, FAIL_MAX, opened_at=now - RESET - 20, since=now - 200, trial_until=now - 0.1)
    circuit = Circuit(claimed, FAIL_MAX, RESET)
    assert circuit.admit(now, TRIAL) is None
    assert circuit.after.trial_until == now + TRIAL and circuit.transitions == []


def test_a_successful_trial_closes_it() -> None:
    now = time.time()
    trial = Snapshot(HALF_OPEN, FAIL_MAX, opened_at=now - RESET - 1, since=now - 100, trial_until=now + TRIAL)
    closed = decided(trial, True)
    assert closed.after == Snapshot() and closed.after.encode() == ""
    assert closed.transitions == [(HALF_OPEN, CLOSED)]


def test_a_failed_trial_reopens_it_for_a_whole_timeout_and_it_stays_open_since_it_first_opened() -> None:
    now = time.time()
    trial = Snapshot(HALF_OPEN, FAIL_MAX, opened_at=now - RESET - 1, since=now - 100, trial_until=now + TRIAL)
    reopened = decided(trial, False)
    assert reopened.after.state == OPEN and reopened.after.trial_until is None
    assert reopened.after.opened_at == pytest.approx(time.time(), abs=1)
    assert reopened.after.since == now - 100
    assert reopened.transitions == [(HALF_OPEN, OPEN)]


def test_an_outcome_past_the_timeout_is_the_trial_even_unclaimed() -> None:
    closed = decided(opened(ago=RESET + 1), True)
    assert closed.after == Snapshot()
    assert closed.transitions == [(OPEN, HALF_OPEN), (HALF_OPEN, CLOSED)]
