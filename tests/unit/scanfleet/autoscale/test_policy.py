"""The scaling policy on fixed and random queue readings: floods, drains, steady loads, bounds."""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scanfleet.autoscale.policy import ScalingPolicy
from scanfleet.broker.stats import QueueTruth
from scanfleet.config import Settings

TARGET_WAIT = 30.0
COOLDOWN = 60.0
JOBS_PER_REPLICA = 10


def policy(min_replicas: int = 1, max_replicas: int = 6, step_up: int = 2, step_down: int = 1) -> ScalingPolicy:
    return ScalingPolicy(
        min_replicas=min_replicas,
        max_replicas=max_replicas,
        target_wait_seconds=TARGET_WAIT,
        jobs_per_replica=JOBS_PER_REPLICA,
        step_up=step_up,
        step_down=step_down,
        cooldown_seconds=COOLDOWN,
    )


def truth(ready: int = 0, running: int = 0, deferred: int = 0, age: float = 0.0) -> QueueTruth:
    return QueueTruth(ready=ready, running=running, deferred=deferred, oldest_ready_age_seconds=age, workers=0)


def run(scaler: ScalingPolicy, start: int, readings: Iterable[tuple[float, QueueTruth]]) -> list[int]:
    """Replicas after each decision, each one applied before the next reading."""
    current, seen = start, []
    for now, reading in readings:
        current = scaler.decide(reading, current, now)
        seen.append(current)
    return seen


def test_a_flood_grows_the_fleet_to_max_in_steps() -> None:
    flood = truth(ready=500, age=5.0)
    assert run(policy(), 1, ((t, flood) for t in range(5))) == [3, 5, 6, 6, 6]


def test_depth_asks_for_only_as_many_replicas_as_the_load_needs() -> None:
    # 35 ready + running over 10 per replica: 4 replicas, reached in steps of 2, then held.
    load = truth(ready=20, running=15)
    assert run(policy(), 1, ((t, load) for t in range(4))) == [3, 4, 4, 4]


def test_a_job_waiting_past_the_target_adds_a_step_even_when_depth_is_small() -> None:
    scaler = policy()
    assert scaler.decide(truth(ready=1, age=TARGET_WAIT + 1), 2, 0.0) == 4
    assert scaler.decide(truth(ready=1, age=TARGET_WAIT + 1), 6, 1.0) == 6  # max holds


def test_deferred_jobs_do_not_ask_for_workers() -> None:
    assert policy().decide(truth(deferred=1000), 1, 0.0) == 1


def test_a_drained_queue_shrinks_the_fleet_a_step_per_cooldown() -> None:
    scaler = policy()
    assert scaler.decide(truth(ready=500), 5, 0.0) == 6  # the last scale-up, at t=0
    idle = truth()
    # Calm from t=10: a cooldown of it (and of no change) passes at t=70, then one step per cooldown.
    steps = run(scaler, 6, [(10, idle), (69, idle), (70, idle), (71, idle), (129, idle), (130, idle)])
    assert steps == [6, 6, 5, 5, 5, 4]
    later = run(scaler, 4, ((130 + 60 * n, idle) for n in range(1, 6)))
    assert later == [3, 2, 1, 1, 1]  # and never below min


def test_demand_must_stay_low_for_the_whole_cooldown() -> None:
    scaler = policy()
    idle, busy = truth(), truth(ready=25, running=20)  # 45 jobs: a 6th replica is not needed, 5 are
    # 45 does not fit 5 replicas with room (5 * 10 * 0.75 = 37.5): calm breaks at t=40 and restarts at t=50.
    steps = run(scaler, 6, [(0, idle), (40, busy), (50, idle), (100, idle), (110, idle)])
    assert steps == [6, 6, 6, 6, 5]


def test_a_waiting_job_keeps_the_fleet_from_shrinking() -> None:
    scaler = policy()
    lingering = truth(ready=1, age=TARGET_WAIT * 0.6)  # under the target, over half of it
    assert run(scaler, 4, ((60 * n, lingering) for n in range(5))) == [4] * 5


def test_a_steady_load_near_the_threshold_does_not_flap() -> None:
    scaler = policy()
    # Around 30 jobs, the grow threshold of 3 replicas: a peak of 31 grows the fleet once; the long calm
    # stretches at or under 30 that follow would fit 3 replicas exactly, but not with room, so it holds.
    loads = [31, 28, 29, 30, 27, 29, 30] * 10
    steps = run(scaler, 3, ((15 * n, truth(running=load)) for n, load in enumerate(loads)))
    assert steps == [4] * len(loads)


@pytest.mark.parametrize(("current", "expected"), [(0, 2), (1, 2), (9, 5), (40, 5)])
def test_bounds_override_the_step_limits(current: int, expected: int) -> None:
    assert policy(min_replicas=2, max_replicas=5).decide(truth(), current, 0.0) == expected


def test_with_min_zero_an_idle_fleet_scales_to_zero_and_work_brings_it_back() -> None:
    scaler = policy(min_replicas=0)
    assert run(scaler, 1, [(0, truth()), (COOLDOWN, truth())]) == [1, 0]
    assert scaler.decide(truth(ready=1), 0, COOLDOWN + 1) == 1


def test_from_settings_reads_every_autoscale_setting() -> None:
    settings = Settings(
        _env_file=None,
        autoscale_min_replicas=2,
        autoscale_max_replicas=8,
        autoscale_target_wait_seconds=12.5,
        autoscale_jobs_per_replica=7,
        autoscale_step_up=3,
        autoscale_step_down=2,
        autoscale_cooldown_seconds=45,
    )
    assert ScalingPolicy.from_settings(settings) == ScalingPolicy(2, 8, 12.5, 7, 3, 2, 45.0)


@pytest.mark.parametrize(("low", "high"), [(3, 2), (-1, 2), (0, 0)])
def test_impossible_bounds_are_refused(low: int, high: int) -> None:
    with pytest.raises(ValueError, match="MIN <= MAX"):
        policy(min_replicas=low, max_replicas=high)


READINGS = st.builds(
    truth,
    ready=st.integers(0, 400),
    running=st.integers(0, 200),
    deferred=st.integers(0, 50),
    age=st.floats(0, 3 * TARGET_WAIT),
)


@given(
    bounds=st.tuples(st.integers(0, 5), st.integers(1, 10)).filter(lambda b: b[0] <= b[1]),
    steps=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    start=st.integers(0, 12),
    readings=st.lists(st.tuples(st.floats(0, 90), READINGS), max_size=60),
)
def test_every_decision_is_within_bounds_steps_and_cooldown(
    bounds: tuple[int, int], steps: tuple[int, int], start: int, readings: list[tuple[float, QueueTruth]]
) -> None:
    scaler = policy(*bounds, *steps)
    low, high = bounds
    current, now, changed_at = start, 0.0, None
    for gap, reading in readings:
        now += gap
        desired = scaler.decide(reading, current, now)
        assert low <= desired <= high
        if low <= current <= high:
            assert current - steps[1] <= desired <= current + steps[0]
            if desired < current and changed_at is not None:
                assert now - changed_at >= COOLDOWN
        if desired != current:
            changed_at = now
        current = desired


@given(
    base=st.integers(1, 300),
    fills=st.lists(st.floats(0, 1), min_size=2, max_size=80),
    gaps=st.lists(st.floats(0, 120), min_size=80, max_size=80),
)
def test_a_load_within_a_third_of_itself_never_reverses_direction(
    base: int, fills: list[float], gaps: list[float]
) -> None:
    scaler = policy(max_replicas=40)
    now, current, moves = 0.0, 1, []
    for fill, gap in zip(fills, gaps, strict=False):
        now += gap
        load = int(base + fill * base * 0.3)  # anywhere in [base, 1.3 * base]
        desired = scaler.decide(truth(running=load), current, now)
        if desired != current:
            moves.append(desired > current)
        current = desired
    assert all(moves) or not any(moves), moves  # only up, or only down: never back and forth
