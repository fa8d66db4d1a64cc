"""The shape of the package, as docs/architecture.md draws it: SQL only in scraper/store, stages never
importing a command module."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "scraper"
STATEMENTS = {"select", "update", "insert", "delete", "text", "func", "bindparam", "or_", "and_"}
COMMAND_MODULES = {"scraper.cli", "scraper.importer", "scraper.daemon", "scraper.backfill.runner"}


def _modules() -> dict[str, ast.Module]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        found[name] = ast.parse(path.read_text(encoding="utf-8"), str(path))
    return found


def _imports(tree: ast.Module) -> list[tuple[str, str]]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            out += [(node.module, alias.name) for alias in node.names]
        elif isinstance(node, ast.Import):
            out += [(alias.name, "") for alias in node.names]
    return out


def test_sql_statements_are_built_only_in_the_store() -> None:
    offenders = [
        f"{name} imports sqlalchemy.{what}"
        for name, tree in _modules().items()
        if not name.startswith("scraper.store.")
        for module, what in _imports(tree)
        if module.startswith("sqlalchemy") and what in STATEMENTS
    ]
    assert not offenders


def test_stages_do_not_import_command_modules() -> None:
    offenders = [
        f"{name} imports {module}"
        for name, tree in _modules().items()
        if name not in COMMAND_MODULES and name != "scraper.__main__"
        for module, what in _imports(tree)
        if module in COMMAND_MODULES or f"{module}.{what}" in COMMAND_MODULES
    ]
    assert not offenders
