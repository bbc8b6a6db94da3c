"""The send-rate decisions and backoff of driftwatch.retries, as plain data (no network)."""

from __future__ import annotations

import random

import pytest

from driftwatch.retries import (
    DEEPEST,
    FLOOR,
    MAX_BACKOFF_S,
    THROTTLED_BASE_S,
    TRANSIENT_BASE_S,
    WINDOW_CALLS,
    WINDOW_S,
    RateLimiter,
    RateState,
    Window,
    backoff,
    next_rate,
)

DEMAND = 100.0  # calls a second the client would send unpaced
SECONDS = 0.5


def simulate(
    throttle: object, windows: int = 60, demand: float = DEMAND
) -> list[tuple[float, Window]]:
    """Feed next_rate windows of a client whose answers come from `throttle(sent, seconds)`."""
    state, seen = RateState(), []
    for _ in range(windows):
        send = min(demand, state.rate or demand)
        seconds = max(WINDOW_S, WINDOW_CALLS / send)  # as RateLimiter closes a window
        sent = round(send * seconds)
        w = Window(seconds, sent, throttle(sent, seconds))  # type: ignore[operator]
        seen.append((send, w))
        state = next_rate(state, w)
    return seen


def test_random_throttling_does_not_sink_the_rate() -> None:
    rng = random.Random(1)
    seen = simulate(lambda sent, _: sum(rng.random() < 0.3 for _ in range(sent)))
    rates = [send for send, _ in seen[10:]]
    assert sum(rates) / len(rates) > 0.85 * DEMAND, rates
    assert min(rates) >= 0.7 * 0.7 * DEMAND  # never more than two cuts in a row


@pytest.mark.parametrize("demand", [2.0, 5.0])
def test_a_sparse_client_is_not_pinned_to_the_floor(demand: float) -> None:
    """Cutting a client that sends less than its rate slows nothing: the cut is undone."""
    rng = random.Random(2)
    seen = simulate(
        lambda sent, _: sum(rng.random() < 0.3 for _ in range(sent)), windows=80, demand=demand
    )
    rates = [send for send, _ in seen[10:]]
    assert sum(rates) / len(rates) > 0.85 * demand, rates


@pytest.mark.parametrize("limit", [2.0, 5.0, 20.0, 60.0])
def test_a_real_rate_limit_is_converged_to(limit: float) -> None:
    """A token bucket of `limit` calls a second: the rate settles around it, few throttles."""
    seen = simulate(lambda sent, s: max(0, sent - round(limit * s)), windows=120)
    late = seen[60:]
    rates = [send for send, _ in late]
    # The goodput a kept cut measured is remembered: calm windows climb back to it and
    # probe past it slowly (before: 1.2-1.25x the limit, 15-20% throttled).
    assert 0.8 * limit <= sum(rates) / len(rates) <= 1.15 * limit, rates
    throttled = sum(w.throttled for _, w in late) / sum(w.sent for _, w in late)
    assert throttled < 0.12, throttled


def test_random_throttling_is_never_taken_for_a_limit() -> None:
    """Under faults that ignore the rate, a cut loses goodput: no limit is remembered."""
    rng, state = random.Random(3), RateState()
    for _ in range(2000):
        send = min(DEMAND, state.rate or DEMAND)
        seconds = max(WINDOW_S, WINDOW_CALLS / send)
        sent = round(send * seconds)
        throttled = sum(rng.random() < 0.3 for _ in range(sent))
        state = next_rate(state, Window(seconds, sent, throttled))
        assert state.ceiling is None


def test_a_limit_that_lifts_is_left_behind() -> None:
    state = RateState(rate=10.0)
    for _ in range(20):
        state = next_rate(state, Window(SECONDS, 5, 0))
    assert state.rate is not None and state.rate > DEMAND


def test_a_cut_never_goes_below_the_floor() -> None:
    first = next_rate(RateState(), Window(1.0, 1, 1))
    assert first.rate is None  # the first window only measures
    state = next_rate(first, Window(1.0, 1, 1))
    assert state.rate == FLOOR and state.trial is not None


def test_backoff_is_full_jitter_exponential_and_capped() -> None:
    assert backoff(1, False, lambda: 1.0) == TRANSIENT_BASE_S
    assert backoff(3, True, lambda: 1.0) == THROTTLED_BASE_S * 4
    assert backoff(30, True, lambda: 1.0) == MAX_BACKOFF_S
    assert backoff(5, True, lambda: 0.0) == 0.0


def test_limiter_paces_attempts_at_its_rate() -> None:
    now = [0.0]
    limiter = RateLimiter(clock=lambda: now[0])
    assert limiter.wait_turn() == 0.0  # unlimited until a window says otherwise
    for second in (1.0, 2.0):  # the first window only measures
        for _ in range(WINDOW_CALLS - 1):
            limiter.answered(throttled=True)
        now[0] = second
        limiter.answered(throttled=True)  # the window closes: all throttled, 20 calls in 1 s
    rate = limiter.state.rate
    assert rate is not None and rate == pytest.approx(DEEPEST * WINDOW_CALLS)  # none got through
    waits = [limiter.wait_turn() for _ in range(4)]
    assert waits == pytest.approx([i / rate for i in range(4)])
