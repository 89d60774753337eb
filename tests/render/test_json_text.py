"""``dumps_indented`` writes exactly what ``json.dumps(value, indent=2)`` writes (the JSON
output's text must not change with the faster encoder), on awkward values and on a real scan."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dustsweep.render.common import dumps_indented
from tests.cli.test_scan import accounts_for, keys  # noqa: F401  (fixture)
from tests.conftest import write_config

CASES: list[Any] = [
    {},
    [],
    None,
    "x",
    3,
    1.5,
    True,
    {"a": []},
    {"a": {}},
    [1, [2, [3, {}]]],
    [{"a": 1}],
    [{"a": "}"}, {"b": "{"}],
    [{"a": 1, "b": "x\x00}\x00{"}, {}],
    [{"a": 1, "b": 2}, {"c": None, "d": -0.0}],
    {"x": 'é\n"\t', "y": None, "z": False, "w": 1e300, "v": [{"a": 1}, {"b": [None]}]},
    {"rows": [{"k": "v", "n": 10**30}] * 3, "deep": {"a": {"b": {"c": ["}\x00{"]}}}},
]


@pytest.mark.parametrize("value", CASES)
def test_same_text_as_json_dumps_indent_2(value: Any) -> None:
    assert dumps_indented(value) == json.dumps(value, indent=2)


@pytest.mark.usefixtures("keys")
def test_scan_json_output_is_json_dumps_indent_2_text(
    cli: Any, sim_factory: Any, tmp_path: Path
) -> None:
    from dustsweep.sim.demo import DEMO_SCENARIO

    sim = sim_factory(DEMO_SCENARIO)
    config = write_config(tmp_path, accounts_for(sim))
    result = cli("--config", str(config), "scan", "--json", "--all")
    assert result.code == 0, result.err
    document = json.loads(result.out)
    assert document["accounts"][0]["assets"]
    assert result.out == json.dumps(document, indent=2) + "\n"
