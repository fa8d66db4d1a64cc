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


MAX_CLASS_LINES = 300
MAX_FUNCTION_LINES = 60


def test_no_class_over_300_lines_and_no_function_over_60() -> None:
    too_long = []
    for name, tree in _modules().items():
        for node in ast.walk(tree):
            if not isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if isinstance(node, ast.ClassDef) and length > MAX_CLASS_LINES:
                too_long.append(f"class {name}.{node.name}: {length} lines")
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and length > MAX_FUNCTION_LINES:
                too_long.append(f"function {name}.{node.name}: {length} lines")
    assert not too_long
