"""State folder: rules cache (fast, keyed by host, never crashes), clock offsets, run lock."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from dustsweep.core.models import MarketRules
from dustsweep.errors import ConfigError, ExitCode, LockHeld
from dustsweep.storage.state import ClockOffsets, RulesCache, RunLock, state_dir
from tests.paths import REPO

BINANCE_INFO = REPO / "dustsweep" / "sim" / "data" / "binance-exchangeInfo.json"
PROD = None
TESTNET = "https://testnet.binance.vision"


class FakeTime:
    """A settable clock for cache ages (the code takes ``now`` as a parameter)."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.value = start

    def __call__(self) -> float:
        return self.value


def real_rules() -> list[MarketRules]:
    """Rules shaped like the bundled Binance exchangeInfo (filters read directly here, so the
    test does not depend on the adapter): realistic symbols, steps and minimums."""
    info = json.loads(BINANCE_INFO.read_text())
    rules = []
    for symbol in info["symbols"]:
        filters = {f["filterType"]: f for f in symbol["filters"]}
        lot = filters.get("LOT_SIZE", {})
        notional = filters.get("NOTIONAL", {})
        rules.append(
            MarketRules(
                symbol=symbol["symbol"],
                base=symbol["baseAsset"],
                quote=symbol["quoteAsset"],
                trading=symbol["status"] == "TRADING",
                market_orders="MARKET" in symbol["orderTypes"],
                step=Decimal(lot.get("stepSize", "0")),
                min_qty=Decimal(lot.get("minQty", "0")),
                max_qty=Decimal(lot["maxQty"]) if "maxQty" in lot else None,
                min_notional=Decimal(notional.get("minNotional", "0")),
                max_notional=Decimal(notional["maxNotional"])
                if "maxNotional" in notional
                else None,
            )
        )
    return rules


def many_rules(count: int = 2300) -> list[MarketRules]:
    """About as many rules as Binance lists, built from the real ones with new names."""
    base = real_rules()
    out = []
    for i in range(count):
        rule = base[i % len(base)]
        out.append(
            MarketRules(
                symbol=f"{rule.symbol}{i}",
                base=f"{rule.base}{i}",
                quote=rule.quote,
                trading=rule.trading,
                market_orders=rule.market_orders,
                step=rule.step,
                min_qty=rule.min_qty,
                max_qty=rule.max_qty,
                min_notional=rule.min_notional,
                max_notional=rule.max_notional,
                step_rule="basePrecision" if i % 2 else "stepSize",
                min_qty_rule=rule.min_qty_rule,
                min_notional_rule="minOrderAmt" if i % 3 == 0 else "minNotional",
            )
        )
    return out


# --------------------------------------------------------------------------- state_dir


@pytest.mark.skipif(os.name == "nt", reason="POSIX modes")
def test_state_dir_from_env_is_created_private(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "state"
    path = state_dir({"DUSTSWEEP_HOME": str(target)})
    assert path == target and path.is_dir()
    assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0
    assert state_dir({"DUSTSWEEP_HOME": str(target)}) == target  # second use: no error


def test_state_dir_that_cannot_be_created_is_a_config_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ConfigError) as caught:
        state_dir({"DUSTSWEEP_HOME": str(blocker / "state")})
    assert str(caught.value).startswith(f"cannot create the state folder {blocker / 'state'} (")
    assert "DUSTSWEEP_HOME" in str(caught.value)


def test_state_dir_defaults_to_user_state_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("XDG_STATE_HOME only steers platformdirs on Linux")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))
    assert state_dir({}) == tmp_path / "xdg-state" / "dustsweep"
    assert state_dir({"DUSTSWEEP_HOME": ""}) == tmp_path / "xdg-state" / "dustsweep"


def test_state_dir_uses_process_environment_by_default(isolated_env: Path) -> None:
    assert state_dir() == isolated_env
    assert isolated_env.is_dir()


# --------------------------------------------------------------------------- rules cache


def test_rules_round_trip_exactly(tmp_path: Path) -> None:
    rules = [
        *real_rules(),
        MarketRules(symbol="HALTEDUSDT", base="HALTED", quote="USDT", trading=False),
        MarketRules(
            symbol="ABCUSDT",
            base="ABC",
            quote="USDT",
            market_orders=False,
            step=Decimal("0.000001"),
            min_qty=Decimal("1E-8"),
            min_notional=Decimal("1.00000000"),
            step_rule="basePrecision",
            min_qty_rule="minOrderQty",
            min_notional_rule="minOrderAmt",
        ),
    ]
    cache = RulesCache(tmp_path)
    cache.save("binance", PROD, rules)
    loaded = cache.load("binance", PROD, ttl_s=3600)
    assert loaded == rules
    assert loaded is not None
    # not just equal: the same digits, because the step's exponent is the wire format
    assert [str(r.step) for r in loaded] == [str(r.step) for r in rules]
    assert [str(r.min_notional) for r in loaded] == [str(r.min_notional) for r in rules]
    assert all(isinstance(r.step, Decimal) for r in loaded)


def test_rules_cache_is_compact_and_fast(tmp_path: Path) -> None:
    rules = many_rules(2300)
    cache = RulesCache(tmp_path)
    cache.save("binance", PROD, rules)
    size = cache.path("binance", PROD).stat().st_size
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        loaded = cache.load("binance", PROD, ttl_s=3600)
        best = min(best, time.perf_counter() - started)
    assert loaded == rules
    print(f"\nrules cache: {len(rules)} rules, {size / 1024:.0f} KiB, load {best * 1000:.1f} ms")
    assert size < 200 * len(rules)  # pre-digested: ~100 bytes a symbol, not raw exchangeInfo


def test_cache_key_includes_exchange_and_host(tmp_path: Path) -> None:
    cache = RulesCache(tmp_path)
    prod, testnet = real_rules()[:3], real_rules()[3:5]
    cache.save("binance", PROD, prod)
    cache.save("binance", TESTNET, testnet)
    assert cache.load("binance", PROD, 60) == prod
    assert cache.load("binance", TESTNET, 60) == testnet
    assert cache.load("binance", TESTNET + "/", 60) == testnet  # same host
    assert cache.load("bybit", PROD, 60) is None
    assert cache.load("binance", "http://127.0.0.1:8080", 60) is None
    assert cache.path("binance", PROD) != cache.path("binance", TESTNET)


def test_stale_and_future_caches_are_ignored(tmp_path: Path) -> None:
    clock = FakeTime()
    cache = RulesCache(tmp_path, now=clock)
    rules = real_rules()[:2]
    cache.save("bybit", PROD, rules)
    clock.value += 3599
    assert cache.load("bybit", PROD, ttl_s=3600) == rules
    clock.value += 2
    assert cache.load("bybit", PROD, ttl_s=3600) is None
    assert cache.load("bybit", PROD, ttl_s=0) is None  # ttl 0: always fetch
    clock.value -= 3601 + 3600  # the clock went back an hour: the file "comes from the future"
    assert cache.load("bybit", PROD, ttl_s=10**9) is None


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"\xff\xfe garbage",
        b'{"format": 1, "key": "binance|", "saved_at": 1',  # truncated
        b"[]",
        b'{"format": 99, "key": "binance|", "saved_at": 0, "rules": []}',
        b'{"format": 1, "key": "binance|", "saved_at": "x", "rules": []}',
        b'{"format": 1, "key": "binance|", "saved_at": 0, "rules": 5}',
        b'{"format": 1, "key": "binance|", "saved_at": 0, "rules": [["A"]]}',
        b'{"format": 1, "key": "binance|", "saved_at": 0, "rules": [["AB","A","B",1,1,'
        b'"abc","0",null,"0",null,"s","q","n"]]}',
        b'{"format": 1, "key": "binance|", "saved_at": 0, "rules": [[1,"A","B",1,1,'
        b'"0","0",null,"0",null,"s","q","n"]]}',
    ],
)
def test_corrupt_cache_reads_as_missing(tmp_path: Path, content: bytes) -> None:
    cache = RulesCache(tmp_path, now=lambda: 100.0)
    cache.path("binance", PROD).write_bytes(content)
    assert cache.load("binance", PROD, ttl_s=10**9) is None
    rules = real_rules()[:1]
    cache.save("binance", PROD, rules)  # and a good save replaces it
    assert cache.load("binance", PROD, ttl_s=10) == rules


def test_cache_in_a_missing_or_unreadable_place_is_just_missing(tmp_path: Path) -> None:
    assert RulesCache(tmp_path / "nowhere").load("binance", PROD, 60) is None
    cache = RulesCache(tmp_path)
    cache.path("binance", PROD).mkdir()  # a folder where the file should be
    assert cache.load("binance", PROD, 60) is None


def test_save_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = RulesCache(tmp_path)
    old = real_rules()[:2]
    cache.save("binance", PROD, old)

    def broken_replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        cache.save("binance", PROD, real_rules()[2:4])
    monkeypatch.undo()
    assert cache.load("binance", PROD, 60) == old  # the old file is untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == [cache.path("binance", PROD).name]


def test_merge_updates_symbols_and_keeps_age(tmp_path: Path) -> None:
    clock = FakeTime()
    cache = RulesCache(tmp_path, now=clock)
    assert cache.merge("binance", PROD, real_rules()[:1]) is False  # nothing to merge into
    assert cache.load("binance", PROD, 60) is None
    rules = real_rules()[:3]
    cache.save("binance", PROD, rules)
    changed = MarketRules(
        symbol=rules[1].symbol, base=rules[1].base, quote=rules[1].quote, step=Decimal("0.1")
    )
    new = MarketRules(symbol="NEWUSDT", base="NEW", quote="USDT")
    clock.value += 50
    assert cache.merge("binance", PROD, [changed, new]) is True
    assert cache.load("binance", PROD, 60) == [rules[0], changed, rules[2], new]
    clock.value += 20  # 70 s after the original save: the merge did not make it younger
    assert cache.load("binance", PROD, 60) is None


# --------------------------------------------------------------------------- clock offsets


def test_clock_offsets_round_trip_per_host(tmp_path: Path) -> None:
    offsets = ClockOffsets(tmp_path)
    assert offsets.load("binance", PROD) is None
    offsets.save("binance", PROD, -1234)
    offsets.save("binance", TESTNET, 56)
    offsets.save("bybit", PROD, 0)
    again = ClockOffsets(tmp_path)  # the next run
    assert again.load("binance", PROD) == -1234
    assert again.load("binance", TESTNET) == 56
    assert again.load("bybit", PROD) == 0
    assert again.load("bybit", TESTNET) is None
    again.save("binance", PROD, 7)
    assert ClockOffsets(tmp_path).load("binance", PROD) == 7


@pytest.mark.parametrize("content", [b"", b"{", b"[1]", b'{"binance|": {"offset_ms": "5"}}'])
def test_corrupt_clock_file_reads_as_missing(tmp_path: Path, content: bytes) -> None:
    offsets = ClockOffsets(tmp_path)
    offsets.file.write_bytes(content)
    assert offsets.load("binance", PROD) is None
    offsets.save("binance", PROD, 42)
    assert offsets.load("binance", PROD) == 42


# --------------------------------------------------------------------------- run lock


HOLDER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from dustsweep.storage.state import RunLock
    lock = RunLock(Path(sys.argv[1]))
    lock.acquire()
    print("locked", flush=True)
    sys.stdin.read()  # hold the lock until the parent closes stdin (or kills us)
    lock.release()
    """
)


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """A separate dustsweep process that holds the lock on tmp_path."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "locked"
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


def test_lock_held_by_another_process_is_refused(
    tmp_path: Path, holder: subprocess.Popen[str]
) -> None:
    with pytest.raises(LockHeld) as caught, RunLock(tmp_path):
        pytest.fail("the lock must not be taken twice")
    message = str(caught.value)
    assert message.startswith(f"another dustsweep run (pid {holder.pid}, started 20")
    assert message.endswith(f" UTC) is using {tmp_path}; try again when it ends")
    assert caught.value.exit_code == ExitCode.NOT_NOW
    # the holder finishes normally: the lock is free again
    assert holder.stdin is not None
    holder.stdin.close()
    assert holder.wait(timeout=10) == 0
    with RunLock(tmp_path) as lock:
        assert lock.held


@pytest.mark.skipif(os.name == "nt", reason="POSIX signals")
def test_lock_of_a_killed_run_is_taken_over(tmp_path: Path, holder: subprocess.Popen[str]) -> None:
    with pytest.raises(LockHeld):
        RunLock(tmp_path).acquire()
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=10)
    # the file still names the dead run, but the kernel dropped its lock
    assert f"pid {holder.pid}" in (tmp_path / "dustsweep.lock").read_text()
    with RunLock(tmp_path) as lock:
        assert lock.held
        assert f"pid {os.getpid()}" in (tmp_path / "dustsweep.lock").read_text()


def test_lock_in_the_same_process_and_release(tmp_path: Path) -> None:
    first = RunLock(tmp_path)
    with first, pytest.raises(LockHeld, match=rf"pid {os.getpid()}, started "):
        RunLock(tmp_path).acquire()
    assert not first.held
    assert (tmp_path / "dustsweep.lock").read_text() == ""  # released: nobody named
    with RunLock(tmp_path):
        pass
    first.release()  # releasing twice is harmless


def test_lock_released_when_the_body_raises(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), RunLock(tmp_path):
        raise RuntimeError("boom")
    with RunLock(tmp_path) as lock:
        assert lock.held


def test_lock_message_when_holder_wrote_nothing(tmp_path: Path) -> None:
    """Between another run's flock() and its write the file is empty: still one clear line."""
    import fcntl

    fd = os.open(tmp_path / "dustsweep.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(LockHeld) as caught:
            RunLock(tmp_path).acquire()
        assert str(caught.value) == (
            f"another dustsweep run (pid unknown) is using {tmp_path}; try again when it ends"
        )
    finally:
        os.close(fd)
