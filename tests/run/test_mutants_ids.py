"""Client ids, the key that makes every action happen at most once: edges found by mutation
testing (the token's shape, the length limit, when a name is shortened with a hash)."""

from __future__ import annotations

import hashlib
import re
import threading

import pytest

from dustsweep.run.ids import ClientIds, asset_part, check_token, client_id, new_run_token

TOKEN = "1a2b3c4d5e"
ID_ALPHABET = re.compile(r"^[A-Za-z0-9_-]{1,36}$")


def digest(name: str) -> str:
    return hashlib.sha256(name.encode("utf-8")).hexdigest()[:6]


def test_a_run_token_is_ten_hex_characters_and_new_each_run() -> None:
    tokens = {new_run_token() for _ in range(20)}
    assert len(tokens) == 20
    for token in tokens:
        assert re.fullmatch(r"[0-9a-f]{10}", token)
        assert check_token(token) == token


@pytest.mark.parametrize("token", ["a", "A1", "x" * 16, "0123456789abcdef"])
def test_a_plain_token_of_1_to_16_characters_is_accepted(token: str) -> None:
    assert check_token(token) == token


@pytest.mark.parametrize("token", ["", "x" * 17, "ab-cd", "ab_cd", "ab cd", "é1"])
def test_any_other_token_is_refused_naming_it(token: str) -> None:
    with pytest.raises(ValueError, match=r"need 1-16 characters of \[A-Za-z0-9\]") as err:
        check_token(token)
    assert repr(token) in str(err.value)


def test_a_tame_asset_keeps_its_name() -> None:
    assert asset_part("ADA", 19) == "ADA"
    assert asset_part("A" * 19, 19) == "A" * 19  # exactly the room
    assert asset_part("1INCH", 5) == "1INCH"
    assert asset_part("T", 19) == "T"  # one character is a name too


def test_a_name_one_character_too_long_is_cut_and_hashed() -> None:
    name = "B" * 20
    assert asset_part(name, 19) == "B" * 12 + "_" + digest(name)
    assert len(asset_part(name, 19)) == 19


def test_a_name_with_characters_outside_the_alphabet_gets_a_hash_of_the_real_name() -> None:
    assert asset_part("币安币", 19) == digest("币安币")  # nothing readable is left
    assert asset_part("BTC.b", 19) == "BTCb_" + digest("BTC.b")
    # two names that reduce to the same letters stay distinct
    assert asset_part("BTC.b", 19) != asset_part("BTC-b", 19)


def test_an_empty_name_or_no_room_for_a_head_gives_the_hash_alone() -> None:
    assert asset_part("", 19) == digest("")
    assert asset_part("LONGNAME", 7) == digest("LONGNAME")  # 7 - 6 - 1 = 0 characters of head
    assert asset_part("LONGNAMES", 8) == "L_" + digest("LONGNAMES")


def test_client_ids_are_numbered_after_the_first() -> None:
    assert client_id(TOKEN, "ADA") == "ds-1a2b3c4d5e-ADA"
    assert client_id(TOKEN, "ADA", 1) == "ds-1a2b3c4d5e-ADA"
    assert client_id(TOKEN, "ADA", 2) == "ds-1a2b3c4d5e-ADA-2"
    assert client_id(TOKEN, "ADA", 99) == "ds-1a2b3c4d5e-ADA-99"


@pytest.mark.parametrize("attempt", [0, -1, 100])
def test_an_attempt_outside_1_to_99_is_refused(attempt: int) -> None:
    with pytest.raises(ValueError, match=f"attempt must be 1..99, got {attempt}"):
        client_id(TOKEN, "ADA", attempt)


def test_a_bad_token_never_makes_an_id() -> None:
    with pytest.raises(ValueError, match="run token"):
        client_id("not-plain", "ADA")


@pytest.mark.parametrize("token", [TOKEN, "x" * 16, "a"])
def test_the_longest_ids_fit_the_exchanges_36_characters(token: str) -> None:
    base = f"ds-{token}-"
    room = 36 - len(base) - 3
    fits = "C" * room
    assert client_id(token, fits, 99) == f"{base}{fits}-99"
    assert len(client_id(token, fits, 99)) == 36
    long = "D" * (room + 1)
    text = client_id(token, long, 99)
    assert text == f"{base}{asset_part(long, room)}-99"
    assert len(text) == 36
    assert ID_ALPHABET.match(text)


def test_one_runs_ids_count_the_attempts_of_each_asset() -> None:
    ids = ClientIds(TOKEN)
    assert ids.token == TOKEN
    assert [ids.next("ADA"), ids.next("ADA"), ids.next("XRP"), ids.next("ADA")] == [
        "ds-1a2b3c4d5e-ADA",
        "ds-1a2b3c4d5e-ADA-2",
        "ds-1a2b3c4d5e-XRP",
        "ds-1a2b3c4d5e-ADA-3",
    ]
    with pytest.raises(ValueError, match="run token"):
        ClientIds("bad token")


def test_ids_handed_out_on_many_threads_are_all_distinct() -> None:
    ids = ClientIds(TOKEN)
    got: list[str] = []
    start = threading.Barrier(4)

    def take() -> None:
        start.wait(timeout=10)
        for _ in range(20):
            got.append(ids.next("ADA"))

    workers = [threading.Thread(target=take) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len(set(got)) == 80
