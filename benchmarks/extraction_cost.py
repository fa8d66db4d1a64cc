"""Extraction cost that does not depend on the machine's load, and a snapshot of every output.

Instructions per page, ours against a peer's on the same pages (callgrind counts instructions, which
the neighbours on a shared machine do not change). The measured passes run inside `operator.call`, a C
function nothing else here calls, so callgrind can count them alone:

    valgrind --tool=callgrind --collect-atstart=no --toggle-collect=_operator_call \\
        python benchmarks/extraction_cost.py --extractor trafilatura --sets cjk --passes 1

"Collected" is then the instructions of one pass over the set (after a warm-up pass that is not
counted); divide by the page count. `--every N` takes every Nth page of each set, for a peer too slow
to run whole under valgrind. Without valgrind the script prints CPU milliseconds per page of the
measured passes, for a quick look.

`--snapshot FILE` writes every output of ours (text, html, metadata) as JSON lines, one page a line, so
two revisions can be compared page by page (`cmp` or `diff`): a speed change must leave it identical.
`--snapshot-text` reads the pages as decoded text instead of their UTF-8 bytes (the two must agree).
"""

from __future__ import annotations

import argparse
import json
import operator
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import extraction as bench  # noqa: E402  (the sibling script: its loaders and extractors)


def load_sets(shared: Path, cjk_data: Path, names: str | None) -> list[bench.DataSet]:
    """The benchmark's sets, filtered by a comma-separated list of names (all when None)."""
    sets = [
        bench.DataSet("article-extraction", bench.load_article_extraction(shared / "article-extraction")),
        bench.DataSet("readability-pages", bench.load_readability(shared / "readability-pages")),
        bench.DataSet("cjk", bench.load_cjk(cjk_data), cjk=True),
    ]
    wanted = set(names.split(",")) if names else None
    return [s for s in sets if s.pages and (wanted is None or s.name in wanted)]


EXTRACTORS = ("scraper", "trafilatura", "readability-lxml")


def extractor_named(name: str) -> Callable[[bench.Page], Any]:
    """One of the benchmark's extractors by name; an error when it is not installed."""
    factories: dict[str, Callable[[], Callable[[bench.Page], Any] | None]] = {
        "scraper": bench.ours,
        "trafilatura": bench.trafilatura_extractor,
        "readability-lxml": bench.readability_extractor,
    }
    made = factories[name]()
    if made is None:
        raise SystemExit(f"{name} is not installed (pip install -e '.[bench]')")
    return made


def write_snapshot(path: Path, sets: list[bench.DataSet], as_text: bool = False) -> None:
    """Every field of our record for every page, one JSON object a line, in set and page order."""
    from scraper.extract import RuleBook, extract

    rules = RuleBook.load()
    with path.open("w", encoding="utf-8") as out:
        for data in sets:
            for page in data.pages:
                if as_text:
                    record = extract(page.html, page.url, rules.rule_for(page.url))
                else:
                    record = extract(page.data, page.url, rules.rule_for(page.url), charset="utf-8")
                fields = {k: str(v) if v is not None else None for k, v in vars(record).items()}
                out.write(json.dumps({"page": f"{data.name}/{page.id}", **fields}, ensure_ascii=False) + "\n")


def _passes(run: Callable[[bench.Page], Any], pages: list[bench.Page], passes: int) -> None:
    for _ in range(passes):
        for page in pages:
            bench._safe(run, page)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--shared", type=Path, default=bench.DEFAULT_SHARED)
    parser.add_argument("--cjk-data", type=Path, default=bench.CJK_DATA)
    parser.add_argument("--sets", help="comma-separated set names (default: all)")
    parser.add_argument("--extractor", default="scraper", choices=EXTRACTORS)
    parser.add_argument("--passes", type=int, default=1, help="measured passes after the warm-up pass")
    parser.add_argument("--every", type=int, default=1, help="take every Nth page of each set")
    parser.add_argument("--snapshot", type=Path, help="write our outputs here and stop")
    parser.add_argument("--snapshot-text", action="store_true", help="the snapshot from the decoded text")
    args = parser.parse_args(argv)

    sets = load_sets(args.shared, args.cjk_data, args.sets)
    if args.snapshot:
        write_snapshot(args.snapshot, sets, args.snapshot_text)
        return 0
    run = extractor_named(args.extractor)
    pages = [page for data in sets for page in data.pages[:: max(1, args.every)]]
    for page in pages:  # warm-up: lazy imports, caches, compiled selectors
        bench._safe(run, page)
    start = time.thread_time()
    operator.call(_passes, run, pages, args.passes)  # the one call `--toggle-collect` counts
    spent = time.thread_time() - start
    if args.passes:
        per_page = spent / (args.passes * len(pages))
        print(f"{args.extractor}: {len(pages)} pages, {per_page * 1000:.2f} ms CPU per page")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
