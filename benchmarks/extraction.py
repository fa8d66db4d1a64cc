"""Extraction quality and speed: scraper's extractor beside trafilatura and readability-lxml, in one run.

    python benchmarks/extraction.py [--shared ../shared/benchmarks] [--passes 5] [--only-ours]

Every set is scored in the same run: the article-extraction benchmark, Mozilla Readability's test pages
(readability-pages) and our Chinese labelled set (benchmarks/cjk/). The metric is the article-extraction
benchmark's own (its README): 4-token shingles of `\\w+` tokens, precision averaged over pages with a
prediction, recall over all pages, F1 of the two means; on the CJK set each Han/kana character is a token.
"F1 A" and "F1 B" split each set in two halves by a hash of the page name: tune on one, check the other,
so a change that only fits the pages it was tried on shows as a gap.

Speed: pages per second of CPU time (this thread's, `time.thread_time`), fastest of `--passes` passes,
one thread: on a shared machine wall time measures the neighbours too. The extractors take turns, a
pass each, so each meets the machine in the same states: on this VM the same code ran a set at 269
and at 347 pages/s minutes apart, and one extractor's passes all in a slow minute, the other's in a
fast one, moved the ratio by a quarter. Compare the ratio between extractors of one run ("x"), not
figures across runs. Each extractor gets the page as it takes it: ours
the stored UTF-8 bytes with their charset (`extract(data, url, charset="utf-8")`), the peers the text;
no one is timed decoding or encoding the page. `extraction_cost.py` counts instructions instead.

Metadata (readability-pages' ground truth): exact match after trimming, over the pages whose truth has
the field: title, byline (author), lang, and the published date (the calendar day in the page's own
offset; trafilatura only reports a day). A peer that never reports a field shows "-".
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_SHARED = HERE.parent.parent / "shared" / "benchmarks"
CJK_DATA = HERE / "cjk"
# Readability's tests give every page this address (relative links resolve against it).
READABILITY_URL = "http://fakehost/test/page.html"
META_FIELDS = ("title", "byline", "lang", "published")

WORD = re.compile(r"\w+")
CJK_TOKEN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]|\w+")


@dataclass(frozen=True)
class Page:
    id: str
    url: str
    html: str
    truth: str
    metadata: dict[str, str | None] = field(default_factory=dict)
    # the page's UTF-8 bytes as stored (`html` is them decoded): what a fetcher has, with its charset
    data: bytes = b""


@dataclass(frozen=True)
class Output:
    """What an extractor gives for one page: the body text and whichever metadata it reports."""

    text: str
    title: str | None = None
    byline: str | None = None
    lang: str | None = None
    published: str | None = None  # YYYY-MM-DD, in the page's own offset where known


@dataclass(frozen=True)
class Score:
    precision: float
    recall: float
    f1: float
    accuracy: float


@dataclass(frozen=True)
class DataSet:
    name: str
    pages: list[Page]
    cjk: bool = False


def load_article_extraction(folder: Path) -> list[Page]:
    if not (folder / "ground-truth.json").exists():
        return []
    truth = json.loads((folder / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for page_id, item in sorted(truth.items()):
        data = gzip.decompress((folder / "html" / f"{page_id}.html.gz").read_bytes())
        pages.append(Page(page_id, item["url"], data.decode("utf-8"), item["articleBody"], data=data))
    return pages


def load_readability(folder: Path) -> list[Page]:
    if not (folder / "ground-truth.json").exists():
        return []
    truth = json.loads((folder / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for name, item in sorted(truth.items()):
        data = gzip.decompress((folder / "pages" / f"{name}.html.gz").read_bytes())
        pages.append(
            Page(name, READABILITY_URL, data.decode("utf-8"), item["text"], item.get("metadata") or {}, data)
        )
    return pages


def load_cjk(folder: Path) -> list[Page]:
    """Our Chinese set: `<name>.html` beside `<name>.txt` (the labelled body) and `urls.json`."""
    if not (folder / "urls.json").exists():
        return []
    urls = json.loads((folder / "urls.json").read_text(encoding="utf-8"))
    pages = []
    for name, url in sorted(urls.items()):
        data = (folder / f"{name}.html").read_bytes()
        pages.append(
            Page(name, url, data.decode("utf-8"), (folder / f"{name}.txt").read_text("utf-8"), data=data)
        )
    return pages


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


def half(page: Page) -> int:
    """0 or 1, fixed per page name: the A/B split."""
    return zlib.crc32(page.id.encode()) & 1


def ours() -> Callable[[Page], Output]:
    from scraper.extract import RuleBook, extract

    rules = RuleBook.load()

    def run(page: Page) -> Output:
        # the bytes and their charset, as a caller that fetched the page knows them (the peers take the
        # decoded text, their usual input: neither side is timed decoding or encoding the page)
        record = extract(page.data, page.url, rules.rule_for(page.url), charset="utf-8")
        return Output(record.text, record.title, record.author, record.lang, _day(record.published))

    return run


def trafilatura_extractor() -> Callable[[Page], Output] | None:
    try:
        from trafilatura import bare_extraction
    except ImportError:
        return None

    def run(page: Page) -> Output:
        # as `trafilatura.extract(html, url=...)` with its defaults, keeping the metadata it reads anyway
        document = bare_extraction(page.html, url=page.url, with_metadata=True)
        if document is None or isinstance(document, dict):  # a dict only when asked for one
            return Output("")
        text = "\n".join(part for part in (document.text, document.comments) if part)
        return Output(text, document.title, document.author, document.language, document.date)

    return run


def readability_extractor() -> Callable[[Page], Output] | None:
    try:
        import lxml.html  # type: ignore[import-untyped]
        from readability import Document  # type: ignore[import-untyped]
    except ImportError:
        return None

    def run(page: Page) -> Output:
        document = Document(page.html)
        summary = document.summary(html_partial=True)
        text = lxml.html.fromstring(summary).text_content() if summary.strip() else ""
        return Output(text, document.title())

    return run


def _day(when: datetime | None) -> str | None:
    return when.isoformat() if when is not None else None


def published_matches(predicted: str | None, truth: str) -> bool:
    """The same calendar day as the truth, in the truth's own offset when it has one."""
    if not predicted:
        return False
    truth = truth.strip()
    day = truth[:10]
    try:
        when = datetime.fromisoformat(predicted)
    except ValueError:
        return predicted.strip()[:10] == day
    try:
        stated = datetime.fromisoformat(truth.replace("Z", "+00:00"))
    except ValueError:
        stated = None
    if when.tzinfo is not None and stated is not None and stated.tzinfo is not None:
        when = when.astimezone(stated.tzinfo)
    return when.date().isoformat() == day


def metadata_accuracy(outputs: list[Output], pages: list[Page]) -> dict[str, float | None]:
    """Per field: the share of pages (that have the field in their truth) the extractor got exactly."""
    accuracy: dict[str, float | None] = {}
    for name in META_FIELDS:
        key = "publishedTime" if name == "published" else name
        pairs = [(o, (p.metadata.get(key) or "").strip()) for o, p in zip(outputs, pages, strict=True)]
        pairs = [(o, truth) for o, truth in pairs if truth]
        if not pairs or all(getattr(o, name) is None for o, _ in pairs):
            accuracy[name] = None
            continue
        if name == "published":
            right = sum(published_matches(o.published, truth) for o, truth in pairs)
        else:
            right = sum((getattr(o, name) or "").strip() == truth for o, truth in pairs)
        accuracy[name] = right / len(pairs)
    return accuracy


def timed_in_turns(
    extractors: dict[str, Callable[[Page], Output]], pages: list[Page], passes: int
) -> dict[str, tuple[list[Output], float]]:
    """Each extractor's outputs and pages per CPU second (its fastest pass), the extractors taking
    turns a pass each, so that a slow or a fast minute of the machine falls on all of them."""
    best = dict.fromkeys(extractors, float("inf"))
    outputs: dict[str, list[Output]] = {}
    for _ in range(max(1, passes)):
        for name, extractor in extractors.items():
            start = time.thread_time()
            outputs[name] = [_safe(extractor, page) for page in pages]
            best[name] = min(best[name], time.thread_time() - start)
    return {name: (outputs[name], len(pages) / best[name] if best[name] > 0 else 0.0) for name in extractors}


def _safe(extractor: Callable[[Page], Output], page: Page) -> Output:
    try:
        return extractor(page)
    except Exception as exc:  # an extractor failing on one page scores it empty, as the benchmark does
        print(f"  ! {page.id}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return Output("")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED, help="folder of the shared sets")
    parser.add_argument("--cjk-data", type=Path, default=CJK_DATA)
    parser.add_argument("--passes", type=int, default=5)
    parser.add_argument("--only-ours", action="store_true", help="skip the peers (for quick tuning)")
    parser.add_argument("--sets", help="comma-separated set names to run (default: all)")
    parser.add_argument("--dump", type=Path, help="write our per-page F1 here, worst first")
    args = parser.parse_args(argv)

    sets = [
        DataSet("article-extraction", load_article_extraction(args.shared / "article-extraction")),
        DataSet("readability-pages", load_readability(args.shared / "readability-pages")),
        DataSet("cjk", load_cjk(args.cjk_data), cjk=True),
    ]
    sets = [s for s in sets if s.pages and (not args.sets or s.name in args.sets.split(","))]
    extractors: list[tuple[str, Callable[[Page], Output] | None]] = [("scraper", ours())]
    if not args.only_ours:
        extractors += [
            ("trafilatura", trafilatura_extractor()),
            ("readability-lxml", readability_extractor()),
        ]
    print(", ".join(f"{s.name}: {len(s.pages)} pages" for s in sets))
    print(f"speed: pages per CPU second, fastest of {args.passes} passes, one thread\n")
    header = (
        f"{'set':<20}{'extractor':<18}{'F1':>7}{'prec':>7}{'recall':>8}{'F1 A':>7}{'F1 B':>7}"
        f"{'pages/s':>9}{'x':>7}"
    )
    print(header)
    print("-" * len(header))
    meta_rows: list[tuple[str, dict[str, float | None]]] = []
    dump_rows: list[tuple[float, float, float, str, str]] = []
    installed = {name: extractor for name, extractor in extractors if extractor is not None}
    for data in sets:
        speeds: dict[str, float] = {}
        runs = timed_in_turns(installed, data.pages, args.passes)
        for name, extractor in extractors:
            if extractor is None:
                print(f"{data.name:<20}{name:<18} not installed (pip install -e '.[bench]')")
                continue
            outputs, speed = runs[name]
            speeds[name] = speed
            pairs = [(o.text, p.truth) for o, p in zip(outputs, data.pages, strict=True)]
            total = score(pairs, data.cjk)
            halves = [
                score([pair for pair, p in zip(pairs, data.pages, strict=True) if half(p) == h], data.cjk)
                for h in (0, 1)
            ]
            ratio = speed / speeds["scraper"] if "scraper" in speeds and name != "scraper" else None
            ratio_cell = f"{1 / ratio:>6.1f}x" if ratio else f"{'':>7}"
            print(
                f"{data.name:<20}{name:<18}{total.f1:>7.3f}{total.precision:>7.3f}{total.recall:>8.3f}"
                f"{halves[0].f1:>7.3f}{halves[1].f1:>7.3f}{speed:>9.0f}{ratio_cell}"
            )
            if any(p.metadata for p in data.pages):
                meta_rows.append((name, metadata_accuracy(outputs, data.pages)))
            if name == "scraper" and args.dump:
                for (text, truth), page in zip(pairs, data.pages, strict=True):
                    s = score([(text, truth)], data.cjk)
                    dump_rows.append((s.f1, s.precision, s.recall, f"{data.name}/{page.id}", page.url))
    if meta_rows:
        print("\nmetadata accuracy on readability-pages (exact after trimming)")
        print(f"{'extractor':<18}" + "".join(f"{name:>11}" for name in META_FIELDS))
        for name, accuracy in meta_rows:
            cells = "".join(f"{'-':>11}" if v is None else f"{v:>11.3f}" for v in accuracy.values())
            print(f"{name:<18}{cells}")
    print("\nx: how many times faster scraper is than that extractor on the set, in this run.")
    if args.dump:
        args.dump.write_text(
            "\n".join(f"{f:.3f} p={p:.3f} r={r:.3f} {i} {u}" for f, p, r, i, u in sorted(dump_rows)) + "\n"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
