"""What ``history sync`` did, per account: one line each, or one JSON document."""

from __future__ import annotations

from collections.abc import Sequence

import click

from dustsweep.services.history_sync import AccountSync
from dustsweep.storage.records import iso_utc


def sync_document(results: Sequence[AccountSync]) -> list[dict[str, object]]:
    return [
        {
            "account": r.name,
            "exchange": r.exchange,
            "since": iso_utc(r.since) if r.since is not None else None,
            "added": r.added,
            "matched": r.matched,
            "known": r.known,
            "skipped": r.skipped,
            "error": str(r.error) if r.error is not None else None,
        }
        for r in results
    ]


def print_sync(results: Sequence[AccountSync]) -> None:
    for r in results:
        if r.skipped:
            click.echo(f"{r.name} ({r.exchange}): not synced, {r.skipped}")
            continue
        since = iso_utc(r.since)[:10] if r.since is not None else "?"
        state = "stopped" if r.error is not None else "synced"
        click.echo(
            f"{r.name} ({r.exchange}): {state} from {since}: {r.added} added, "
            f"{r.matched} of dustsweep's own matched, {r.known} already known"
        )
