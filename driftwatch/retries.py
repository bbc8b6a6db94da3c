"""Retries for AWS calls: jittered backoff, and a send rate lowered only when that helps.

botocore's `adaptive` mode cuts a client's send rate by 30% on every throttling
answer and grows it back along a cubic curve capped at twice the measured rate. When
throttling does not depend on the rate (an overloaded front end answering 503
SlowDown at random, say 30% of calls), every rate still draws errors: the rate is cut
again and again, sinks to the token bucket's floor of 0.5 calls a second, and a
300-resource scan takes minutes instead of seconds. Here a cut is a trial: if the
share of calls answered without throttling rises at the lower rate, the cut was free
(a real rate limit) and stays; if it does not, slowing down only cost throughput, so
the rate goes back and that throttled share is taken as background noise. A kept cut
also records the goodput (answers through a second), which over a real limit is the
limit: calm windows then climb quickly back to it and only probe slowly past it, so the
rate does not saw back over the limit every few windows. Backoff
between attempts is full-jitter exponential with a small base, since the limiter, not
the sleep, is what brings a client under a real limit.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from botocore.retries import standard

TRANSIENT_BASE_S = 0.05  # first retry after at most this long; doubles each attempt
THROTTLED_BASE_S = 0.1
MAX_BACKOFF_S = 20.0
WINDOW_S = 0.5  # the limiter decides once a window: at least this long, and at least
WINDOW_CALLS = 20  # this many answers (a share of 8 answers is mostly noise)
CUT = 0.85  # a cut sends at most 85% of the recent send rate
DEEPEST = 0.5  # ... and at least half of it
BOUND = 0.9  # a cut is only judged when it slowed the send rate below 90% of what it was
GROW = 1.25  # calm windows raise the rate by 25%
MARGIN = 0.15  # throttled share above the noise that counts as "over the limit"
NOISE_DECAY = 0.95
FLOOR = 1.0  # calls a second: the lowest rate a cut can set
PEAK_DECAY = 0.9  # the recent peak send rate forgets 10% a window
HIGH = 0.5  # a throttled share above this is a limit, never noise
PROBE = 1.05  # past a limit's measured goodput, calm windows raise the rate by only 5%
FORGET = 1.5  # ... and forget that goodput once the rate is 50% above it (the limit lifted)
HOLD = 0.9  # a goodput is a limit's when a cut kept at least 90% of it


def backoff(attempt: int, throttled: bool, rand: Callable[[], float] = random.random) -> float:
    """Seconds to wait before retrying after `attempt` (1-based): full-jitter exponential."""
    base = THROTTLED_BASE_S if throttled else TRANSIENT_BASE_S
    return rand() * min(MAX_BACKOFF_S, base * 2 ** (attempt - 1))


@dataclass(frozen=True)
class Window:
    """One window's answers: how long, how many attempts, how many throttled."""

    seconds: float
    sent: int
    throttled: int

    @property
    def send_rate(self) -> float:
        return self.sent / self.seconds

    @property
    def share(self) -> float:
        return self.throttled / self.sent if self.sent else 0.0


@dataclass(frozen=True)
class Trial:
    """A cut under test: the rate, the send rate and the throttled share before it."""

    rate: float | None
    send_rate: float
    share: float


def limit_gain(trial: Trial, w: Window) -> float:
    """How much the share answered without throttling must rise for a cut to be kept.

    Over a limit of R calls a second, sending at S gets R through: the share answered is
    R/S, so slowing from S to S' raises it by S/S' (but never past all of them). Faults
    that ignore the rate leave it where it was (a rise of 1). The cut is judged by which
    of the two the rise is nearer to, on a log scale: the geometric mean of both.
    """
    expected = min(trial.send_rate / w.send_rate, 1 / max(1e-9, 1 - trial.share))
    return float(expected**0.5)


@dataclass(frozen=True)
class RateState:
    """A client's send rate (None: unlimited), the throttled share that slowing down did not
    cure, the cut being tried if any, the highest send rate seen lately, how many
    windows were seen, and the goodput of the last limit found (None: none known)."""

    rate: float | None = None
    noise: float = 0.0
    trial: Trial | None = None
    peak: float = 0.0
    windows: int = 0
    ceiling: float | None = None

    def grown(self) -> float | None:
        """The rate after a calm window: quick up to the last limit's goodput, slow past it."""
        if self.rate is None:
            return None
        if self.ceiling is None:
            return self.rate * GROW
        if self.rate < self.ceiling:
            return min(self.rate * GROW, self.ceiling)
        return self.rate * PROBE


def next_rate(state: RateState, w: Window) -> RateState:
    """The send rate after a window of answers.

    Under a real limit of R calls a second, sending at S > R gets R answers through: the
    share answered grows as 1/S when S falls. Under faults that ignore the rate, that
    share stays where it was. Shares, unlike rates, do not depend on how busy the client
    was. A cut starts from the highest recent send rate, not this window's: a window
    that spanned a pause between a scan's phases would otherwise set a rate far below
    what the client needs once it is busy again (and hold every worker thread in its
    pacing). The first window only measures.
    """
    seen = replace(state, peak=max(w.send_rate, state.peak * PEAK_DECAY), windows=state.windows + 1)
    if state.trial is not None:
        trial = state.trial
        if w.send_rate > BOUND * trial.send_rate:  # the cut did not slow us: nothing learnt
            return replace(seen, rate=trial.rate, trial=None)
        # Past half throttled, call it a limit: few answers get through, too few to judge
        # by, and faults that ignore the rate are rarely that heavy.
        over = trial.share > HIGH and w.share > HIGH
        helped = over or 1 - w.share >= (1 - trial.share) * limit_gain(trial, w)
        if not helped:  # slowing down let no more through: not our rate
            noise = min(HIGH, max(state.noise, w.share))
            return replace(seen, rate=trial.rate, noise=noise, trial=None)
        if state.noise and abs(w.share - state.noise) <= MARGIN / 2:
            # Back at the usual background share: the window that set off the cut was
            # a fluke of the noise (the next one regresses to the mean). Undo it. (A
            # cut to a limit's goodput ends near no throttling at all.)
            return replace(seen, rate=trial.rate, trial=None)
        if w.share - state.noise <= MARGIN / 2:
            # Room found under a limit: keep the cut; calm windows grow it back.
            return replace(seen, trial=None)
        # The limit still bites: keep the cut and go on. Over a limit of R calls a
        # second the goodput (answers through a second) is R whatever was sent; when it
        # held through the cut, remember it as the limit. (Under faults that ignore the
        # rate, it falls with the send rate.)
        before, after = trial.send_rate * (1 - trial.share), w.send_rate * (1 - w.share)
        ceiling = max(before, after) if after >= HOLD * before else seen.ceiling
        seen = replace(seen, trial=None, ceiling=ceiling)
    if state.windows and w.throttled and w.share - state.noise > MARGIN:
        # Cut to what got through (over a limit, the limit), by at least 1 - CUT and at
        # most DEEPEST: a window all throttled must not drop a busy client to the floor,
        # where a window of answers takes many seconds to gather.
        busy = max(w.send_rate, seen.peak)
        base = min(busy, state.rate or busy)
        cut = max(FLOOR, DEEPEST * base, min(CUT * base, busy * (1 - w.share)))
        return replace(seen, rate=cut, trial=Trial(state.rate, w.send_rate, w.share))
    grown = seen.grown()
    ceiling = seen.ceiling
    if grown is not None and ceiling is not None and grown > FORGET * ceiling:
        ceiling = None  # calm far past the old limit: it has lifted
    noise = max(state.noise * NOISE_DECAY, min(state.noise, w.share))  # while it lasts
    return replace(seen, rate=grown, noise=noise, ceiling=ceiling)


class RateLimiter:
    """Paces one client's attempts at its current rate and adjusts it once a window."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self.state = RateState()
        self._next_send = 0.0
        self._window_start = 0.0
        self._sent = 0
        self._throttled = 0

    def wait_turn(self) -> float:
        """The seconds this attempt must wait for its slot (0 when unlimited); books the slot."""
        with self._lock:
            rate = self.state.rate
            if rate is None:
                return 0.0
            now = self._clock()
            slot = max(now, self._next_send)
            self._next_send = slot + 1.0 / rate
            return slot - now

    def answered(self, throttled: bool) -> None:
        """Record one attempt's answer; close the window when it is due."""
        with self._lock:
            now = self._clock()
            if not self._sent:
                self._window_start = now
            self._sent += 1
            self._throttled += throttled
            seconds = now - self._window_start
            if seconds >= WINDOW_S and self._sent >= WINDOW_CALLS:
                self.state = next_rate(self.state, Window(seconds, self._sent, self._throttled))
                self._sent, self._throttled = 0, 0


class RetryHandler:
    """botocore's standard retry conditions, with `backoff()` and a `RateLimiter` per client."""

    def __init__(self, max_attempts: int, limiter: RateLimiter | None = None) -> None:
        self.limiter = limiter or RateLimiter()
        self._adapter = standard.RetryEventAdapter()
        self._conditions = standard.StandardRetryConditions(max_attempts=max_attempts)
        self._throttling = standard.ThrottlingErrorDetector(self._adapter)

    def before_send(self, **_: Any) -> None:
        """Hooked to before-send: wait for this attempt's slot."""
        delay = self.limiter.wait_turn()
        if delay > 0:
            time.sleep(delay)

    def needs_retry(self, **kwargs: Any) -> float | None:
        """Hooked to needs-retry: record the answer; the delay before a retry, or None."""
        context = self._adapter.create_retry_context(**kwargs)
        throttled = bool(self._throttling.is_throttling_error_from_context(context))
        self.limiter.answered(throttled)
        retry = self._conditions.is_retryable(context)
        self._adapter.adapt_retry_response_from_context(context)
        return backoff(context.attempt_number, throttled) if retry else None


def install(client: Any, max_attempts: int) -> RetryHandler:
    """Replace the standard-mode retry handler of a botocore client with ours."""
    name = client.meta.service_model.service_id.hyphenize()
    handler = RetryHandler(max_attempts)
    events = client.meta.events
    events.unregister(f"needs-retry.{name}", unique_id=f"retry-config-{name}")
    events.register(f"needs-retry.{name}", handler.needs_retry, unique_id=f"retry-config-{name}")
    events.register(f"before-send.{name}", handler.before_send)
    return handler
