"""The one exit-code policy: how the outcome of a run becomes a documented exit code.

0 done or nothing to do; 3 exchange, network or authentication error; 4 partly done; 5 not
possible now (cool-down). Every command's code comes from here.
"""

from __future__ import annotations

from collections.abc import Sequence

from dustsweep.errors import DustsweepError, ExitCode


def outcome_code(errors: Sequence[DustsweepError | None]) -> ExitCode:
    """0 when every account worked; 4 when some did; else the first error's own code."""
    failed = [e for e in errors if e is not None]
    if not failed:
        return ExitCode.OK
    if len(failed) < len(errors):
        return ExitCode.PARTIAL
    return failed[0].exit_code
