"""The order-path limiter: a 60 s sliding window per user on the simulated clock, and the
header arithmetic (`X-RateLimit-Remaining` counts the current request, `X-RateLimit-Reset` is
when the oldest request in the window leaves it, in unix seconds)."""

from __future__ import annotations

from ocx_sim.auth.ratelimit import DEFAULT_LIMIT, WINDOW_MS, RateLimiter, Verdict

T0 = 1_767_312_000_250  # a quarter second past a whole second
ALICE = "alice"
BOB = "bob"


def test_the_default_is_120_requests_per_60_seconds() -> None:
    limiter = RateLimiter()

    assert (limiter.limit, limiter.window_ms) == (DEFAULT_LIMIT, WINDOW_MS) == (120, 60_000)


def test_remaining_counts_the_current_request_and_reset_follows_the_oldest() -> None:
    limiter = RateLimiter(limit=3)

    first = limiter.hit(ALICE, T0)
    second = limiter.hit(ALICE, T0 + 10_000)

    assert first == Verdict(True, 3, 2, (T0 + 60_000) // 1000, 0)
    assert second == Verdict(True, 3, 1, (T0 + 60_000) // 1000, 0)
    assert first.headers() == {
        "X-RateLimit-Limit": "3",
        "X-RateLimit-Remaining": "2",
        "X-RateLimit-Reset": str((T0 + 60_000) // 1000),
    }


def test_a_full_window_refuses_with_the_wait_until_the_oldest_leaves() -> None:
    limiter = RateLimiter(limit=2)
    limiter.hit(ALICE, T0)
    limiter.hit(ALICE, T0 + 1_000)

    refused = limiter.hit(ALICE, T0 + 20_000)

    assert refused == Verdict(False, 2, 0, (T0 + 60_000) // 1000, 40_000)
    assert refused.headers()["Retry-After"] == "40"
    assert refused.headers()["X-RateLimit-Remaining"] == "0"


def test_retry_after_rounds_the_wait_up_to_whole_seconds() -> None:
    limiter = RateLimiter(limit=1)
    limiter.hit(ALICE, T0)

    refused = limiter.hit(ALICE, T0 + 58_500)

    assert refused.retry_after_ms == 1_500
    assert refused.headers()["Retry-After"] == "2"
    assert Verdict(False, 1, 0, 0, 1).headers()["Retry-After"] == "1"
    assert Verdict(False, 1, 0, 0, 1_000).headers()["Retry-After"] == "1"


def test_the_window_slides_a_request_out_after_exactly_60_seconds() -> None:
    limiter = RateLimiter(limit=2)
    limiter.hit(ALICE, T0)
    limiter.hit(ALICE, T0 + 30_000)

    assert not limiter.hit(ALICE, T0 + 59_999).allowed
    again = limiter.hit(ALICE, T0 + 60_000)

    assert again.allowed
    assert again.remaining == 0
    assert again.reset_s == (T0 + 90_000) // 1000


def test_refused_requests_do_not_count() -> None:
    limiter = RateLimiter(limit=2)
    limiter.hit(ALICE, T0)
    limiter.hit(ALICE, T0 + 1)
    for offset in range(2, 50):
        assert not limiter.hit(ALICE, T0 + offset).allowed

    # Only the two accepted requests were in the window: once both leave, a full window opens.
    assert limiter.hit(ALICE, T0 + 60_001).remaining == 1
    assert limiter.hit(ALICE, T0 + 60_002).remaining == 0


def test_each_user_has_a_window_of_their_own() -> None:
    limiter = RateLimiter(limit=1)
    limiter.hit(ALICE, T0)

    assert not limiter.hit(ALICE, T0).allowed
    assert limiter.hit(BOB, T0).allowed


def test_a_per_user_override_raises_only_that_users_limit() -> None:
    limiter = RateLimiter(limit=2)
    limiter.set_limit(ALICE, 20)

    verdicts = [limiter.hit(ALICE, T0 + i) for i in range(20)]

    assert all(v.allowed for v in verdicts)
    assert verdicts[0].limit == 20
    assert verdicts[-1].remaining == 0
    assert not limiter.hit(ALICE, T0 + 20).allowed
    assert limiter.hit(BOB, T0).limit == 2


def test_a_peek_shows_the_window_without_counting_a_request() -> None:
    limiter = RateLimiter(limit=3)
    limiter.hit(ALICE, T0)

    peeked = limiter.peek(ALICE, T0 + 5_000)

    assert peeked == Verdict(True, 3, 2, (T0 + 60_000) // 1000, 0)
    assert limiter.hit(ALICE, T0 + 6_000).remaining == 1  # the peek took nothing


def test_a_peek_at_an_empty_window_shows_it_whole_and_resetting_now() -> None:
    assert RateLimiter(limit=3).peek(BOB, T0) == Verdict(True, 3, 3, T0 // 1000, 0)
