"""The back-off schedule of every lookup after a lost answer: edges found by mutation testing."""

from __future__ import annotations

import pytest

from dustsweep.run.retry import BACKOFF_S, backoff


def test_the_schedule_starts_at_once_then_grows_to_8_seconds() -> None:
    assert BACKOFF_S == (0.2, 0.5, 1.0, 2.0, 4.0, 8.0)
    waits = list(backoff(60.0))
    assert waits[:9] == [0.0, 0.2, 0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert sum(waits) == pytest.approx(60.0)
    assert waits[-1] == pytest.approx(60.0 - 15.7 - 5 * 8.0)  # one last look at the end


def test_a_window_shorter_than_the_first_wait_looks_once_more_at_its_end() -> None:
    assert list(backoff(0.1)) == [0.0, pytest.approx(0.1)]


def test_no_window_means_a_single_look() -> None:
    assert list(backoff(0.0)) == [0.0]


def test_a_window_the_schedule_fills_exactly_adds_no_extra_look() -> None:
    assert list(backoff(0.7)) == [0.0, 0.2, 0.5]
    assert list(backoff(0.2)) == [0.0, 0.2]


def test_the_waits_never_add_up_to_more_than_the_window() -> None:
    for window in (0.3, 1.0, 3.5, 7.8, 20.0):
        waits = list(backoff(window))
        assert sum(waits) == pytest.approx(window)
        assert waits[0] == 0.0
        assert all(w > 0 for w in waits[1:])
