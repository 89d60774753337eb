"""Accounts run side by side: edges found by mutation testing (a barrier, not timing)."""

from __future__ import annotations

import threading

import pytest

from dustsweep.run.pool import run_concurrently


def test_no_job_gives_no_result() -> None:
    assert run_concurrently([]) == []


def test_a_single_job_runs_on_the_callers_thread() -> None:
    assert run_concurrently([lambda: threading.current_thread().name]) == [
        threading.current_thread().name
    ]


def test_two_jobs_run_at_the_same_time_and_keep_their_order() -> None:
    both = threading.Barrier(2)

    def job(value: str) -> str:
        both.wait(timeout=10)  # breaks (and the test fails) unless the other runs meanwhile
        return value

    assert run_concurrently([lambda: job("first"), lambda: job("second")]) == ["first", "second"]


def test_at_most_eight_accounts_run_at_once_on_named_threads() -> None:
    eight = threading.Barrier(8)
    names: list[str] = []
    lock = threading.Lock()

    def job(n: int) -> int:
        with lock:
            names.append(threading.current_thread().name)
        eight.wait(timeout=10)
        return n

    assert run_concurrently([lambda n=n: job(n) for n in range(16)]) == list(range(16))  # type: ignore[misc]
    assert len(set(names)) == 8
    assert all(name.startswith("account") for name in names)


def test_never_more_than_eight_at_once() -> None:
    nine = threading.Barrier(9, timeout=1.0)  # the ninth job waits until a worker is free

    def job() -> None:
        nine.wait()

    with pytest.raises(threading.BrokenBarrierError):
        run_concurrently([job] * 9)


def test_a_job_that_raises_raises_to_the_caller() -> None:
    def boom() -> int:
        raise RuntimeError("account failed")

    with pytest.raises(RuntimeError, match="account failed"):
        run_concurrently([lambda: 1, boom])
