"""Extraction quality and speed: scraper's extractor beside trafilatura and readability-lxml, in one run.

    python benchmarks/extraction.py [--data ../shared/benchmarks/article-extraction] [--passes 5]

The metric is the article-extraction benchmark's own (its README): 4-token shingles of `\\w+` tokens,
precision averaged over pages with a prediction, recall over all pages, F1 of the two means, and exact
accuracy. Beside it, a CJK F1 where each Han/kana character is a token, on the benchmark set and on our
Chinese labelled set (benchmarks/cjk/). Speed: pages per second, fastest of `--passes` passes, one thread.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent / "shared" / "benchmarks" / "article-extraction"
CJK_DATA = HERE / "cjk"

WORD = re.compile(r"\w+")
CJK_CHAR = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
CJK_TOKEN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]|\w+")


@dataclass(frozen=True)
class Page:
    id: str
    url: str
    html: str
    truth: str


@dataclass(frozen=True)
class Score:
    precision: float
    recall: float
    f1: float
    accuracy: float


def load_benchmark(folder: Path) -> list[Page]:
    truth = json.loads((folder / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for page_id, item in sorted(truth.items()):
        html = gzip.decompress((folder / "html" / f"{page_id}.html.gz").read_bytes()).decode("utf-8")
        pages.append(Page(page_id, item["url"], html, item["articleBody"]))
    return pages


def load_cjk(folder: Path) -> list[Page]:
    """Our Chinese set: `<name>.html` beside `<name>.txt` (the labelled body) and `urls.json`."""
    if not (folder / "urls.json").exists():
        return []
    urls = json.loads((folder / "urls.json").read_text(encoding="utf-8"))
    return [
        Page(
            name,
            url,
            (folder / f"{name}.html").read_text("utf-8"),
            (folder / f"{name}.txt").read_text("utf-8"),
        )
        for name, url in sorted(urls.items())
    ]


def tokens(text: str, cjk: bool = False) -> list[str]:
    return (CJK_TOKEN if cjk else WORD).findall(text or "")


def shingles(words: list[str], size: int = 4) -> Counter[tuple[str, ...]]:
    if len(words) < size:
        return Counter([tuple(words)]) if words else Counter()
    return Counter(tuple(words[i : i + size]) for i in range(len(words) - size + 1))


def score(predictions: Iterable[tuple[str, str]], cjk: bool = False) -> Score:
    precisions: list[float] = []
    recalls: list[float] = []
    exact = 0
    for predicted, truth in predictions:
        predicted_words, true_words = tokens(predicted, cjk), tokens(truth, cjk)
        exact += predicted_words == true_words
        p, t = shingles(predicted_words), shingles(true_words)
        tp = sum((p & t).values())
        if predicted_words:
            precisions.append(tp / max(1, sum(p.values())))
        recalls.append(tp / max(1, sum(t.values())) if t else (1.0 if not p else 0.0))
    precision = sum(precisions) / len(precisions) if precisions else 0.0
    recall = sum(recalls) / len(recalls) if recalls else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Score(precision, recall, f1, exact / max(1, len(recalls)))


def ours() -> Callable[[Page], str]:
    from scraper.extract import RuleBook, extract

    rules = RuleBook.load()
    return lambda page: extract(page.html, page.url, rules.rule_for(page.url)).text


def trafilatura_extractor() -> Callable[[Page], str] | None:
    try:
        import trafilatura
    except ImportError:
        return None
    return lambda page: trafilatura.extract(page.html, url=page.url) or ""


def readability_extractor() -> Callable[[Page], str] | None:
    try:
        import lxml.html
        from readability import Document
    except ImportError:
        return None

    def run(page: Page) -> str:
        summary = Document(page.html).summary(html_partial=True)
        return lxml.html.fromstring(summary).text_content() if summary.strip() else ""

    return run


def timed(extractor: Callable[[Page], str], pages: list[Page], passes: int) -> tuple[list[str], float]:
    best = float("inf")
    outputs: list[str] = []
    for _ in range(passes):
        start = time.perf_counter()
        outputs = [_safe(extractor, page) for page in pages]
        best = min(best, time.perf_counter() - start)
    return outputs, len(pages) / best


def _safe(extractor: Callable[[Page], str], page: Page) -> str:
    try:
        return extractor(page)
    except Exception as exc:  # a peer failing on one page scores it empty, as the benchmark does
        print(f"  ! {page.id}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--cjk-data", type=Path, default=CJK_DATA)
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--only-ours", action="store_true", help="skip the peers (for quick tuning)")
    parser.add_argument("--dump", type=Path, help="write our per-page F1 here, worst first")
    args = parser.parse_args(argv)

    pages = load_benchmark(args.data)
    cjk_pages = load_cjk(args.cjk_data)
    extractors: list[tuple[str, Callable[[Page], str] | None]] = [("scraper", ours())]
    if not args.only_ours:
        extractors += [
            ("trafilatura", trafilatura_extractor()),
            ("readability-lxml", readability_extractor()),
        ]

    print(f"{len(pages)} benchmark pages ({args.data}), {len(cjk_pages)} CJK pages ({args.cjk_data})")
    print(f"speed: fastest of {args.passes} passes, one thread\n")
    header = (
        f"{'extractor':<18}{'F1':>7}{'prec':>7}{'recall':>8}{'acc':>6}{'pages/s':>9}{'CJK F1':>8}"
        f"{'CJK set F1':>11}"
    )
    print(header)
    print("-" * len(header))
    for name, extractor in extractors:
        if extractor is None:
            print(f"{name:<18} not installed (pip install -e '.[bench]')")
            continue
        outputs, speed = timed(extractor, pages, args.passes)
        official = score(zip(outputs, (p.truth for p in pages), strict=True))
        cjk_bench = score(zip(outputs, (p.truth for p in pages), strict=True), cjk=True)
        cjk_outputs = [_safe(extractor, page) for page in cjk_pages]
        cjk_set = score(zip(cjk_outputs, (p.truth for p in cjk_pages), strict=True), cjk=True)
        cjk_cell = f"{cjk_set.f1:>11.3f}" if cjk_pages else f"{'-':>11}"
        print(
            f"{name:<18}{official.f1:>7.3f}{official.precision:>7.3f}{official.recall:>8.3f}"
            f"{official.accuracy:>6.2f}{speed:>9.0f}{cjk_bench.f1:>8.3f}{cjk_cell}"
        )
        if name == "scraper" and args.dump:
            rows = []
            for page, output in zip(pages + cjk_pages, outputs + cjk_outputs, strict=True):
                s = score([(output, page.truth)], cjk=page in cjk_pages)
                rows.append((s.f1, s.precision, s.recall, page.id, page.url))
            args.dump.write_text(
                "\n".join(f"{f:.3f} p={p:.3f} r={r:.3f} {i} {u}" for f, p, r, i, u in sorted(rows)) + "\n"
            )
    print(
        "\nCJK F1: each Han/kana character one token; "
        "'CJK set' is benchmarks/cjk (Chinese pages we labelled)."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
