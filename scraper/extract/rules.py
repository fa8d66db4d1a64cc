"""Site rules: where a known site keeps its article, and which of its blocks are junk.

The built-in rules ship as package data (`rules.toml`) so users read and copy them; `[[rules]]` in the
config adds rules or replaces a built-in one of the same name. A feed's `selector`/`remove` keys refine
the rule for that feed's pages only.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from scraper.errors import RuleError

_SELECTOR_KEYS = ("body", "remove", "title", "author", "published")
_KNOWN_KEYS = frozenset({"name", "domains", "timezone", *_SELECTOR_KEYS})


@dataclass(frozen=True)
class SiteRule:
    name: str
    domains: tuple[str, ...] = ()
    body: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()
    title: tuple[str, ...] = ()
    author: tuple[str, ...] = ()
    published: tuple[str, ...] = ()
    timezone: str | None = None  # for pages that write local times without an offset

    def matches(self, url: str) -> bool:
        return self.matches_place(*_host_and_path(url))

    def matches_place(self, host: str, path: str) -> bool:
        """`matches` for a URL already split (`_host_and_path`): a rule book splits it once for all."""
        for domain in self.domains:
            domain_host, _, prefix = domain.lower().partition("/")
            if (host == domain_host or host.endswith("." + domain_host)) and _under(path, prefix):
                return True
        return False


def _host_and_path(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return (parts.hostname or "").lower().removeprefix("www."), parts.path or "/"


def _under(path: str, prefix: str) -> bool:
    """`path` lies in the folder `prefix`: "/zhongwen/simp/a" is under "zhongwen", "/zhongwenx" is not."""
    prefix = prefix.strip("/")
    rest = path.lstrip("/")
    return not prefix or rest == prefix or rest.startswith(prefix + "/")


def rule_from_table(table: Mapping[str, Any], where: str = "rule") -> SiteRule:
    name = table.get("name")
    if not isinstance(name, str) or not name.strip():
        raise RuleError(f"{where}: 'name' must be a non-empty string")
    where = f"{where} {name!r}"
    unknown = sorted(set(table) - _KNOWN_KEYS)
    if unknown:
        raise RuleError(
            f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(_KNOWN_KEYS))}"
        )
    values = {key: _strings(table.get(key, ()), f"{where}: '{key}'") for key in ("domains", *_SELECTOR_KEYS)}
    timezone = table.get("timezone")
    if timezone is not None and not isinstance(timezone, str):
        raise RuleError(f"{where}: 'timezone' must be a string such as \"+08:00\"")
    return SiteRule(name=name.strip(), timezone=timezone, **values)


def user_rules(extra: Iterable[Mapping[str, Any]]) -> list[SiteRule]:
    """The config's `[[rules]]` tables as rules; a RuleError naming the rule and the key for a broken one.
    What a config is checked with before any work: the built-in rules are not read for it."""
    return [rule_from_table(table, f"[[rules]] #{i + 1}") for i, table in enumerate(extra)]


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise RuleError(f"{where} must be a string or a list of strings")
    return tuple(v.strip() for v in value if v.strip())


class RuleBook:
    """Every known rule, user rules first so they win over built-in ones for the same site."""

    def __init__(self, rules: Sequence[SiteRule]) -> None:
        self.rules = tuple(rules)
        # Every page asks for its rule: by domain, (position of the rule, folder) of each rule naming it,
        # so a page looks up its host and the domains above it instead of trying every rule.
        self._by_host: dict[str, list[tuple[int, str]]] = {}
        for index, rule in enumerate(self.rules):
            for domain in rule.domains:
                domain_host, _, prefix = domain.lower().partition("/")
                self._by_host.setdefault(domain_host, []).append((index, prefix))

    @classmethod
    def load(cls, extra: Iterable[Mapping[str, Any]] = ()) -> RuleBook:
        return cls.of(user_rules(extra))

    @classmethod
    def of(cls, users: Sequence[SiteRule]) -> RuleBook:
        """The user rules first, then the built-in ones they do not replace (by name)."""
        replaced = {rule.name for rule in users}
        return cls([*users, *(rule for rule in builtin_rules() if rule.name not in replaced)])

    def rule_for(self, url: str) -> SiteRule | None:
        """The first rule (in the book's order) that matches `url`, as `SiteRule.matches` says: a
        domain matches its own host and every host under it ("news.example.com" for "example.com")."""
        host, path = _host_and_path(url)
        best: int | None = None
        suffix = host
        while True:
            for index, prefix in self._by_host.get(suffix, ()):
                if (best is None or index < best) and _under(path, prefix):
                    best = index
            dot = suffix.find(".")
            if dot < 0:
                break
            suffix = suffix[dot + 1 :]  # the host under the next domain up ("b.c" after "a.b.c")
        return self.rules[best] if best is not None else None

    def for_url(self, url: str, selector: str | None = None, remove: Sequence[str] = ()) -> SiteRule | None:
        """The rule for a page, refined by its feed's own `selector` and `remove`."""
        rule = self.rule_for(url)
        if not selector and not remove:
            return rule
        base = rule or SiteRule(name="feed")
        return replace(
            base,
            body=(selector,) if selector else base.body,
            remove=base.remove + tuple(remove),
        )


@lru_cache(maxsize=1)
def builtin_rules() -> tuple[SiteRule, ...]:
    text = resources.files("scraper.extract").joinpath("rules.toml").read_text(encoding="utf-8")
    tables = tomllib.loads(text).get("rules", [])
    return tuple(rule_from_table(table, "built-in rule") for table in tables)
