"""Every name a user types is checked before anything is sent: accounts against the config,
assets against the markets of the exchanges the chosen accounts use.

A typo must be one line and exit 2 whatever the account's state: checked later, a wrong
``--to`` came out as "nothing to convert" (0), a cool-down (5) or a failed preview (3). The
markets come from the rules cache (or the exchange's public rules once per host and run, shared
with the run itself); a name missing from cached rules is looked up again in fresh ones before
it is refused, so a new listing is never refused because of a day-old cache. A host whose rules
cannot be read checks nothing (the run reports that account's failure itself).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dustsweep.errors import ConfigError, DustsweepError
from dustsweep.exchanges import capabilities_of

if TYPE_CHECKING:
    from dustsweep.config.schema import AccountConfig, Config
    from dustsweep.core.models import MarketRules
    from dustsweep.exchanges.base import Credentials
    from dustsweep.services.app import App

Resolved = Sequence[tuple["AccountConfig", "Credentials"]]


def check_account_names(config: Config, names: Sequence[str], also: Iterable[str] = ()) -> None:
    """Every ``--account`` names a configured account (or one of ``also``: accounts the
    history still holds); exit 2 naming the first that does not."""
    configured = config.account_names()
    known = {*configured, *also}
    for name in names:
        if name not in known:
            listed = ", ".join(configured)
            raise ConfigError(f'--account: unknown account "{name}"; the config has: {listed}')


@dataclass(frozen=True)
class Markets:
    """What the chosen accounts' exchanges list: every asset, and every quote asset."""

    assets: frozenset[str]
    quotes: frozenset[str]
    checked: bool  # False: no host's rules could be read, so nothing can be refused

    @classmethod
    def of(cls, rule_sets: Sequence[dict[str, MarketRules]]) -> Markets:
        rules = [r for rules in rule_sets for r in rules.values()]
        quotes = frozenset(r.quote for r in rules)
        return cls(frozenset(r.base for r in rules) | quotes, quotes, bool(rule_sets))


@dataclass(frozen=True)
class NameCheck:
    """The names one command uses: the config's ``quote`` always, and per command ``--to`` /
    ``--asset`` of sell and ``--to`` of convert."""

    sell_assets: frozenset[str] = frozenset()
    sell_to: str | None = None
    convert_to: str | None = None

    def problem(self, config: Config, markets: Markets, resolved: Resolved) -> str | None:
        """The first name the markets do not know, as the one line to print; None if all are
        known (or nothing could be checked)."""
        if not markets.checked:
            return None
        where = _exchanges(resolved)
        if config.quote not in markets.quotes:
            source = f" ({config.path})" if config.path else ""
            return f'quote: no market on {where} is quoted in "{config.quote}"{source}'
        if self.sell_to is not None and self.sell_to not in markets.quotes:
            return f'--to: no market on {where} is quoted in "{self.sell_to}"'
        for asset in sorted(self.sell_assets - markets.assets):
            return f'--asset: "{asset}" is not an asset on {where}'
        if self.convert_to is not None and self.convert_to not in markets.assets:
            return f'--to: "{self.convert_to}" is not an asset on {where}'
        return None


def check_names(app: App, resolved: Resolved, check: NameCheck, *, refresh: bool = False) -> None:
    """Raise ConfigError (exit 2) with one line when a name is unknown; before any order."""
    problem = check.problem(app.config, _markets(app, resolved, refresh), resolved)
    if problem is not None and not refresh:  # the cache may predate a listing: ask afresh
        problem = check.problem(app.config, _markets(app, resolved, True), resolved)
    if problem is None and check.convert_to is not None:
        problem = _no_account_converts(resolved, check.convert_to)
    if problem is not None:
        raise ConfigError(problem)


def conversion_skip_note(exchange: str, target: str) -> str | None:
    """Why an account is skipped for ``convert --to target``: its exchange declares the targets
    of its small-balance conversion (``Capabilities.native_targets``) and this is not one."""
    targets = capabilities_of(exchange).native_targets
    if not targets or target in targets:
        return None  # () means "the exchange's preview decides"
    return f"skipped: {exchange} converts small balances into {', '.join(targets)}, not {target}"


def _no_account_converts(resolved: Resolved, target: str) -> str | None:
    """Exit 2 when every chosen account would be skipped: the target is wrong for all."""
    notes = [conversion_skip_note(account.exchange, target) for account, _ in resolved]
    if not resolved or not all(notes):
        return None
    reasons = "; ".join(dict.fromkeys(n.removeprefix("skipped: ") for n in notes if n))
    return f"--to: no chosen account can convert into {target} ({reasons})"


def _exchanges(resolved: Resolved) -> str:
    return " or ".join(dict.fromkeys(account.exchange for account, _ in resolved)) or "any exchange"


def _markets(app: App, resolved: Resolved, refresh: bool) -> Markets:
    rule_sets: list[dict[str, MarketRules]] = []
    hosts: set[tuple[str, str]] = set()
    for account, creds in resolved:
        host = (account.exchange, creds.base_url or "")
        if host in hosts:
            continue
        hosts.add(host)
        try:
            rule_sets.append(app.host_rules(account, creds, refresh=refresh))
        except DustsweepError:
            continue  # unreadable now: the run itself reports this account's failure
    return Markets.of(rule_sets)
