"""``dustsweep demo``: the whole tool against the built-in simulator."""

from __future__ import annotations

import click

from dustsweep.cli.options import EPILOG, all_option, json_option


@click.command(epilog=EPILOG)
@all_option
@json_option("Print the scan, the plan, the sweep and the history as one JSON document.")
def demo(show_all: bool, as_json: bool) -> int:
    """Run dustsweep against the built-in simulator: no keys, no network.

    Shows the scan, the sweep's plan, the sweep itself, the value before and after, then the
    history it wrote. `python -m dustsweep.sim` serves the same accounts and prints their keys.
    """
    from dustsweep.render.common import make_console, money, print_json
    from dustsweep.render.history import print_history
    from dustsweep.render.scan import print_scan, scan_document
    from dustsweep.render.sweep import print_sweep, sweep_document
    from dustsweep.services.demo import run_demo, values
    from dustsweep.services.sweep import sweep_all

    demo = run_demo(sweep_all)
    before, after = values(demo.scans), values(demo.after)
    if as_json:
        document = scan_document(demo.quote, demo.scans)
        document["plan"] = sweep_document(demo.plan)
        document["sweep"] = sweep_document(demo.sweep)
        document["values"] = {
            "before": {"total": before.total, "small": before.small},
            "after": {"total": after.total, "small": after.small},
        }
        document["history"] = [record.to_json() for record in demo.history]
        print_json(document)
        return demo.code
    console = make_console()
    console.print(
        "[bold]dustsweep demo[/bold]: two simulated accounts on 127.0.0.1 "
        "(real rules and prices from exchange snapshots, made-up balances)\n"
    )
    console.print("[bold]$ dustsweep scan[/bold]\n")
    print_scan(console, demo.quote, demo.scans, show_all)
    console.print("[bold]$ dustsweep sweep[/bold]   (without --yes: the plan, nothing traded)\n")
    print_sweep(console, demo.quote, demo.plan)
    console.print("\n[bold]$ dustsweep sweep --yes[/bold]   (on the simulator)\n")
    print_sweep(console, demo.quote, demo.sweep)
    failed = [(s.name, s.error) for s in demo.scans if s.error is not None]
    failed += [(a.name, a.error) for a in demo.sweep.accounts if a.error is not None]
    for name, error in dict(failed).items():  # once per account, on stderr (the tables point here)
        click.echo(f"dustsweep: {name}: {error}", err=True)
    q = demo.quote
    console.print(
        f"\nValue before: {money(before.total)} {q} (small balances {money(before.small)} {q})"
        f" · after: {money(after.total)} {q} (small balances {money(after.small)} {q})\n"
    )
    console.print("[bold]$ dustsweep history[/bold]\n")
    print_history(console, demo.history)
    console.print(
        "\nTry it yourself: `python -m dustsweep.sim` serves these accounts and prints their "
        "keys and a config for them."
    )
    return demo.code
