"""The command line: parse, call a service, render. The one place errors become exit codes.

Only click is imported at module level so that ``dustsweep --help`` stays fast; the exchange SDKs,
rich and pydantic are imported by the commands that need them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from dustsweep import __version__
from dustsweep.errors import DustsweepError, ExitCode

if TYPE_CHECKING:
    from dustsweep.config import Config
    from dustsweep.services.app import App
    from dustsweep.storage.ledger import Ledger

EPILOG = """\b
Exit codes: 0 done or nothing to do · 1 unexpected error · 2 usage or config error ·
3 exchange, network or authentication error · 4 partly done · 5 not possible now · 130 interrupted.
"""


class Session:
    """What the group passes to commands: where the config is, loaded on first use."""

    def __init__(self, config_path: Path | None, env: Mapping[str, str]) -> None:
        self.config_path_arg = config_path
        self.env = env
        self.quiet = False

    def config_path(self) -> Path:
        from dustsweep.config import resolve_config_path

        return resolve_config_path(self.config_path_arg, self.env)

    def config(self) -> Config:
        from dustsweep.config import load_config

        return load_config(self.config_path(), self.env)

    def state_dir(self) -> Path:
        from dustsweep.storage.state import state_dir

        return state_dir(self.env)

    def app(self, progress: Callable[[str, str], None] | None = None) -> App:
        from dustsweep.services.app import App

        config, path, state = self.config(), self.config_path(), self.state_dir()
        return App(config, path, self.env, state, progress, quiet=self.quiet)


@click.group(epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Config file (default: $DUSTSWEEP_CONFIG, else the user config folder).",
)
@click.version_option(__version__, prog_name="dustsweep")
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None) -> None:
    """Find and clean up crypto dust in Binance and Bybit spot accounts."""
    ctx.obj = Session(config_path, dict(os.environ))


def interactive_progress(enabled: bool) -> tuple[Callable[[str, str], None] | None, Any]:
    """A rich status line on stderr at a terminal; nothing otherwise."""
    if not enabled or not sys.stderr.isatty():
        return None, None
    from dustsweep.render import make_console

    status = make_console(stderr=True).status("starting…")
    lines: dict[str, str] = {}

    def progress(account: str, message: str) -> None:
        lines[account] = message
        status.update(" · ".join(f"{a}: {m}" for a, m in lines.items()))

    return progress, status


@cli.command(epilog=EPILOG)
@click.option("--account", "accounts", multiple=True, metavar="NAME", help="Only this account.")
@click.option("--all", "show_all", is_flag=True, help="Show every balance, not only small ones.")
@click.option("--refresh", is_flag=True, help="Reload market rules instead of using the cache.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV rows.")
@click.pass_obj
def scan(
    session: Session,
    accounts: Sequence[str],
    show_all: bool,
    refresh: bool,
    as_json: bool,
    as_csv: bool,
) -> int:
    """List every balance with its value and verdict (sellable, partial, dust...)."""
    if as_json and as_csv:
        raise click.UsageError("--json and --csv cannot be used together")
    progress, status = interactive_progress(not (as_json or as_csv))
    app = session.app(progress)
    if status is not None:
        with status:
            scans = app.scan(accounts, refresh=refresh)
    else:
        scans = app.scan(accounts, refresh=refresh)
    return render_scans(app.config.quote, scans, show_all, as_json, as_csv)


def render_scans(
    quote: str, scans: Sequence[Any], show_all: bool, as_json: bool, as_csv: bool
) -> int:
    from dustsweep import render
    from dustsweep.services.app import outcome_code

    if as_json:
        render.print_json(render.scan_document(quote, scans))
    elif as_csv:
        render.write_scan_csv(scans)
    else:
        render.print_scan(render.make_console(), quote, scans, show_all)
    for scan in scans:
        if scan.error is not None:
            click.echo(f"dustsweep: {scan.name}: {scan.error}", err=True)
    return outcome_code([s.error for s in scans])


def stdin_is_terminal() -> bool:
    """Can we ask the user? (Tests replace this to simulate a terminal.)"""
    return sys.stdin is not None and sys.stdin.isatty()


def parse_amount(value: str | None, option: str) -> Decimal | None:
    """A non-negative decimal from the command line, or a one-line usage error."""
    if value is None:
        return None
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise click.UsageError(f"{option}: not a number ({value!r})") from None
    if not amount.is_finite() or amount < 0:
        raise click.UsageError(f"{option}: must be a number >= 0 (got {value!r})")
    return amount


def parse_asset(value: str, option: str) -> str:
    asset = value.strip().upper()
    if not asset or not asset.isalnum():
        raise click.UsageError(f"{option}: not an asset symbol ({value!r})")
    return asset


@cli.command(epilog=EPILOG)
@click.option("--account", "accounts", multiple=True, metavar="NAME", help="Only this account.")
@click.option("--to", "to_asset", metavar="ASSET", help="Only sell on markets quoted in ASSET.")
@click.option(
    "--asset",
    "assets",
    multiple=True,
    metavar="SYM",
    help="Only these assets; named assets are sold even above the dust threshold.",
)
@click.option("--max-value", metavar="AMOUNT", help="Cap the total value this run may sell.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option("--dry-run", is_flag=True, help="Only print the plan.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.pass_obj
def sell(
    session: Session,
    accounts: Sequence[str],
    to_asset: str | None,
    assets: Sequence[str],
    max_value: str | None,
    yes: bool,
    dry_run: bool,
    as_json: bool,
) -> int:
    """Market-sell every sellable small balance into the quote asset.

    Prints the plan first. At a terminal it asks before trading; without a terminal it only
    prints the plan unless --yes is given (a dry run is always safe to schedule).
    """
    from dustsweep.services.sell import SellOptions

    options = SellOptions(
        to_asset=parse_asset(to_asset, "--to") if to_asset else None,
        assets=frozenset(parse_asset(a, "--asset") for a in assets),
        max_value=parse_amount(max_value, "--max-value"),
    )
    return run_sell(session, accounts, options, yes=yes, dry_run=dry_run, as_json=as_json)


@dataclasses.dataclass(frozen=True)
class MovingCommand:
    """What differs between the money-moving commands; ``run_moving`` is what they share."""

    name: str  # "sell" / "convert": the history's run name
    question: str  # asked at a terminal, with {n} actions
    dry_note: str
    make_run: Callable[[App, Ledger, bool], Any]  # (app, ledger, live) -> SellRun | ConvertRun
    print_plan: Callable[[Any, str, Sequence[Any]], None]
    print_results: Callable[[Any, Sequence[Any]], None]
    document: Callable[[bool, Sequence[Any]], Any]
    exit_code: Callable[[Sequence[Any], bool], int]


def run_moving(
    session: Session,
    accounts: Sequence[str],
    command: MovingCommand,
    *,
    yes: bool,
    dry_run: bool,
    as_json: bool,
) -> int:
    """Plan, confirm, execute, report: the pattern every money-moving command follows.

    Trading is possible only with --yes or at a terminal (after the question), never with
    --dry-run; the lock is taken before the first request of such a run.
    """
    from dustsweep import render
    from dustsweep.storage.ledger import run_outcome

    app = session.app()
    resolved = app.resolve(accounts)
    may_trade = not dry_run and (yes or stdin_is_terminal())
    execute = False
    with money_moving_run(app, command.name, live=may_trade) as live_ledger:
        ledger = live_ledger or open_ledger(app)
        run = command.make_run(app, ledger, may_trade)
        items = run.prepare(resolved)
        try:
            console = render.make_console()
            planned = sum(item.actions for item in items)
            if not as_json:
                command.print_plan(console, app.config.quote, items)
            execute = may_trade and planned > 0
            if execute and not yes:
                execute = click.confirm(command.question.format(n=planned), default=False, err=True)
            dry = not may_trade or (planned > 0 and not execute)
            if execute:
                run.run_id = ledger.begin_run(command.name, dry_run=False)
                run.execute(items)
                ledger.end_run(run.run_id, run_outcome(command.exit_code(items, True)))
            if as_json:
                render.print_json(command.document(dry, items))
            elif execute:
                command.print_results(console, items)
            elif planned and dry:
                console.print(command.dry_note)
        finally:
            run.close(items)
            if live_ledger is None:
                ledger.close()
    for item in items:
        if item.error is not None:
            click.echo(f"dustsweep: {item.name}: {item.error}", err=True)
        elif as_json and getattr(item, "cooldown", None) is not None:
            click.echo(f"dustsweep: {item.cooldown}", err=True)  # the table already says it
    return command.exit_code(items, execute)


def run_sell(
    session: Session,
    accounts: Sequence[str],
    options: Any,
    *,
    yes: bool,
    dry_run: bool,
    as_json: bool,
) -> int:
    from dustsweep import render
    from dustsweep.services.sell import SellRun, sell_exit_code

    command = MovingCommand(
        name="sell",
        question="Place {n} market order(s)?",
        dry_note="Dry run: nothing was sold (--yes places the orders).",
        make_run=lambda app, ledger, live: SellRun(app, ledger, options, live=live),
        print_plan=render.print_sell_plan,
        print_results=render.print_sell_results,
        document=render.sell_document,
        exit_code=sell_exit_code,
    )
    return run_moving(session, accounts, command, yes=yes, dry_run=dry_run, as_json=as_json)


@contextlib.contextmanager
def money_moving_run(app: App, command: str, *, live: bool) -> Iterator[Ledger | None]:
    """The state-folder lock (taken before any request) and the history, for a live run."""
    if not live:
        yield None
        return
    from dustsweep.storage.ledger import LEDGER_FILE_NAME, Ledger
    from dustsweep.storage.state import RunLock

    with RunLock(app.state_dir):
        ledger = Ledger(app.state_dir / LEDGER_FILE_NAME)
        try:
            yield ledger
        finally:
            ledger.close()


@cli.command(epilog=EPILOG)
@click.option("--all", "show_all", is_flag=True, help="Show every balance, not only small ones.")
@click.option("--json", "as_json", is_flag=True, help="Print the scan as one JSON document.")
def demo(show_all: bool, as_json: bool) -> int:
    """Run dustsweep against the built-in simulator: no keys, no network."""
    from dustsweep.services.demo import run_demo

    return run_demo(show_all=show_all, as_json=as_json)


@cli.command(epilog=EPILOG)
@click.option("--account", "accounts", multiple=True, metavar="NAME", help="Only this account.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of records.")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV for a tax tool.")
@click.pass_obj
def history(session: Session, accounts: Sequence[str], as_json: bool, as_csv: bool) -> int:
    """Everything dustsweep sold or converted, from the local history."""
    if as_json and as_csv:
        raise click.UsageError("--json and --csv cannot be used together")
    from dustsweep import render
    from dustsweep.storage.ledger import LEDGER_FILE_NAME, Ledger, write_csv

    path = session.state_dir() / LEDGER_FILE_NAME
    records = []
    if path.exists():
        ledger = Ledger(path)
        try:
            records = [r for r in ledger.records() if not accounts or r.account in accounts]
        finally:
            ledger.close()
    if as_json:
        render.print_json([r.to_json() for r in records])
    elif as_csv:
        # A tax tool imports every row: only what actually executed belongs there.
        executed = {"filled", "partially_filled", "converted"}
        write_csv([r for r in records if r.status in executed], sys.stdout)
    else:
        render.print_history(render.make_console(), records)
    return ExitCode.OK


@cli.command(epilog=EPILOG)
@click.option(
    "--to",
    "target",
    metavar="ASSET",
    required=True,
    help="Target asset: BNB, USDT, USDC, MNT... (what the exchange accepts).",
)
@click.option("--account", "accounts", multiple=True, metavar="NAME", help="Only this account.")
@click.option(
    "--asset",
    "assets",
    multiple=True,
    metavar="SYM",
    help="Only these assets (a named asset may be worth more than dust_threshold).",
)
@click.option("--max-value", metavar="AMOUNT", help="Cap the total value this run may convert.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option("--dry-run", is_flag=True, help="Only print the plan.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.pass_obj
def convert(
    session: Session,
    target: str,
    accounts: Sequence[str],
    assets: Sequence[str],
    max_value: str | None,
    yes: bool,
    dry_run: bool,
    as_json: bool,
) -> int:
    """Convert small balances through the exchange's own small-balance conversion.

    Shows what the exchange will accept, what you receive and what it costs, then converts
    after confirmation. Only balances worth at most dust_threshold (or of unknown worth that
    the exchange lists) unless named with --asset. Exit 5 inside the exchange's cool-down.
    """
    from dustsweep.services.convert import ConvertOptions

    options = ConvertOptions(
        target=parse_asset(target, "--to"),
        assets=frozenset(parse_asset(a, "--asset") for a in assets),
        max_value=parse_amount(max_value, "--max-value"),
    )
    return run_convert(session, accounts, options, yes=yes, dry_run=dry_run, as_json=as_json)


def run_convert(
    session: Session,
    accounts: Sequence[str],
    options: Any,
    *,
    yes: bool,
    dry_run: bool,
    as_json: bool,
) -> int:
    from dustsweep import render
    from dustsweep.services.convert import ConvertRun, convert_exit_code

    command = MovingCommand(
        name="convert",
        question="Convert {n} asset(s)?",
        dry_note="Dry run: nothing was converted (--yes converts).",
        make_run=lambda app, ledger, live: ConvertRun(app, ledger, options, live=live),
        print_plan=render.print_convert_plan,
        print_results=render.print_convert_results,
        document=render.convert_document,
        exit_code=lambda items, _executed: convert_exit_code(items),
    )
    return run_moving(session, accounts, command, yes=yes, dry_run=dry_run, as_json=as_json)


@cli.command(epilog=EPILOG)
@click.option("--account", "accounts", multiple=True, metavar="NAME", help="Only this account.")
@click.option("--yes", "-y", is_flag=True, help="Trade (without it sweep only prints the plan).")
@click.option("--dry-run", is_flag=True, help="Only print the plan, even with --yes.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON summary.")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing when there is nothing to do.")
@click.pass_obj
def sweep(
    session: Session,
    accounts: Sequence[str],
    yes: bool,
    dry_run: bool,
    as_json: bool,
    quiet: bool,
) -> int:
    """The unattended job for cron: sell what can be sold, convert what the exchange will
    convert (each account's convert_to), leave the rest with its reason.

    Without --yes it never trades; with --yes it never asks.
    """
    from dustsweep import render
    from dustsweep.services.sweep import Sweep, sweep_exit_code

    session.quiet = quiet
    app = session.app()
    resolved = app.resolve(accounts)
    live = yes and not dry_run
    with money_moving_run(app, "sweep", live=live) as live_ledger:
        ledger = live_ledger or open_ledger(app)
        try:
            result = Sweep(app, ledger, live=live).run(resolved)
        finally:
            if live_ledger is None:
                ledger.close()
    code = sweep_exit_code(result)
    errors = [a for a in result.accounts if a.error is not None]
    settled = any(
        (a.sell is not None and a.sell.reconciled) or (a.convert is not None and a.convert.settled)
        for a in result.accounts
    )
    if quiet and not errors and not settled and result.planned_actions == 0:
        return code
    log_summary(result)
    if as_json:
        render.print_json(render.sweep_document(result))
    else:
        render.print_sweep(render.make_console(), app.config.quote, result)
    for account in errors:
        click.echo(f"dustsweep: {account.name}: {account.error}", err=True)
    return code


def log_summary(result: Any) -> None:
    """One log line per action, for the log file (the screen gets the tables)."""
    import logging

    log = logging.getLogger("dustsweep.sweep")
    for account in result.accounts:
        if account.sell is not None and account.sell.result is not None:
            for o in account.sell.result.outcomes:
                log.info(
                    "%s: sell %s %s on %s: %s %s",
                    account.name,
                    o.qty,
                    o.asset,
                    o.market,
                    o.status,
                    o.error or "",
                )
        if account.convert is not None and account.convert.outcome is not None:
            for line in account.convert.outcome.lines:
                log.info(
                    "%s: convert %s %s to %s: %s %s",
                    account.name,
                    line.amount,
                    line.asset,
                    line.target,
                    line.status,
                    line.error or "",
                )
        if account.error is not None:
            log.error("%s: %s", account.name, account.error)


def open_ledger(app: App) -> Ledger:
    """The history, read for a dry run (the cool-down looks at past conversions)."""
    from dustsweep.storage.ledger import LEDGER_FILE_NAME, Ledger

    return Ledger(app.state_dir / LEDGER_FILE_NAME)


@cli.command(epilog=EPILOG)
@click.option("--account", "accounts", multiple=True, metavar="NAME", help="Only this account.")
@click.pass_obj
def doctor(session: Session, accounts: Sequence[str]) -> int:
    """Check each account's keys without trading: one line per check with what to fix.

    Exit 0 when every check passes (warnings allowed), 3 otherwise.
    """
    from dustsweep.config import credentials, select_accounts
    from dustsweep.services.app import run_concurrently

    app = session.app()
    chosen = select_accounts(app.config, list(accounts))

    def check(account: Any) -> list[tuple[str, bool, str]]:
        """One account's rows; nothing it raises stops the other accounts' checks."""
        try:
            creds = credentials(account, app.config_path, app.env)
        except DustsweepError as exc:
            return [("keys present", False, str(exc))]
        kind = creds.key_type  # HMAC secret, or an Ed25519/RSA private key file
        found = "secret" if kind == "HMAC" else f"{kind} private key"
        rows = [("keys present", True, f"key and {found} found (key type {kind})")]
        try:
            handle = app.open(account, creds)
        except DustsweepError as exc:
            return [*rows, ("adapter", False, str(exc))]
        try:
            rows += handle.exchange.check_access()
            if any(name == "clock" and ok for name, ok, _ in rows):
                offset = handle.exchange.clock_offset_ms
                app.offsets.save(account.exchange, handle.base_url, offset)
        except DustsweepError as exc:
            rows.append(("checks", False, str(exc)))
        finally:
            handle.close()
        return rows

    results = run_concurrently([functools.partial(check, a) for a in chosen])
    failed = False
    for account, rows in zip(chosen, results, strict=True):
        for name, ok, detail in rows:
            warning = detail.lower().startswith("warning")
            mark = "ok  " if ok else ("warn" if warning else "FAIL")
            failed = failed or not (ok or warning)
            click.echo(f"{mark} {account.name} ({account.exchange}) {name}: {detail}")
    return ExitCode.EXCHANGE if failed else ExitCode.OK


def help_for(ctx: click.Context | None) -> str:
    """``dustsweep <command> --help`` for the command a usage error is about."""
    names: list[str] = []
    while ctx is not None and ctx.parent is not None:
        names.append(ctx.info_name or "")
        ctx = ctx.parent
    return " ".join(["dustsweep", *reversed(names), "--help"])


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point: run the command and turn every outcome into a documented exit code."""
    code = run(argv)
    sys.stdout.flush()
    sys.exit(int(code))


def run(argv: Sequence[str] | None = None) -> int:
    try:
        result = cli.main(args=list(argv) if argv is not None else None, standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.UsageError as exc:
        # One line that says what is wrong and where to look, not click's usage block.
        click.echo(f"dustsweep: {exc.format_message()} (see '{help_for(exc.ctx)}')", err=True)
        return ExitCode.USAGE
    except click.ClickException as exc:
        click.echo(f"dustsweep: {exc.format_message()}", err=True)
        return ExitCode.USAGE
    except (KeyboardInterrupt, click.exceptions.Abort):
        click.echo("dustsweep: interrupted", err=True)
        return ExitCode.INTERRUPTED
    except DustsweepError as exc:
        click.echo(f"dustsweep: {exc}", err=True)
        return exc.exit_code
    except Exception as exc:  # the one place an unexpected error is caught: no traceback
        if os.environ.get("DUSTSWEEP_DEBUG"):
            raise
        click.echo(
            f"dustsweep: unexpected error: {type(exc).__name__}: {exc} "
            "(set DUSTSWEEP_DEBUG=1 for a traceback)",
            err=True,
        )
        return ExitCode.UNEXPECTED
    return int(result or 0)
