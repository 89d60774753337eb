"""``dustsweep demo``: the whole tool against the built-in simulator."""

from __future__ import annotations

import click

from dustsweep.cli.options import EPILOG, all_option, json_option


@click.command(epilog=EPILOG)
@all_option
@json_option("Print the scan as one JSON document.")
def demo(show_all: bool, as_json: bool) -> int:
    """Run dustsweep against the built-in simulator: no keys, no network."""
    from dustsweep.render.common import make_console, print_json
    from dustsweep.render.scan import print_scan, scan_document
    from dustsweep.render.sweep import print_sweep, sweep_document
    from dustsweep.services.demo import run_demo
    from dustsweep.services.sweep import sweep_all

    demo = run_demo(sweep_all)
    if as_json:
        document = scan_document(demo.quote, demo.scans)
        document["sweep"] = sweep_document(demo.sweep)
        print_json(document)
        return demo.code
    console = make_console()
    console.print(
        "[bold]dustsweep demo[/bold]: two simulated accounts on 127.0.0.1 "
        "(real rules and prices from exchange snapshots, made-up balances)\n"
    )
    console.print("[bold]$ dustsweep scan[/bold]\n")
    print_scan(console, demo.quote, demo.scans, show_all)
    console.print("[bold]$ dustsweep sweep --yes[/bold]   (on the simulator)\n")
    print_sweep(console, demo.quote, demo.sweep)
    return demo.code
