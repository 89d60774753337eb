"""Where the tests find the repository's own files: nothing a test reads lies outside it."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent  # the repository's root
SIM_DATA = REPO / "dustsweep" / "sim" / "data"  # the simulator's trimmed real snapshots
REAL_FIXTURES = REPO / "tests" / "fixtures" / "real"  # real exchange snapshots, trimmed
