"""A readable diff between two versions of an article's text: word by word, and character by character
in Chinese and Japanese (written without spaces, so a "word" there would be a whole sentence).

Pure functions: `diff_tokens` gives the operations, `render_text` marks them for a terminal
(`[-removed-]{+added+}`, as `git diff --word-diff` does) and `render_html` as `<del>`/`<ins>` for the
changes feed. Unchanged stretches are shortened to a few tokens of context on each side.
"""

from __future__ import annotations

import difflib
import html
import re
from dataclasses import dataclass

CONTEXT_TOKENS = 8  # unchanged tokens kept on each side of a change

# A CJK character alone, or a run of other word characters, or one other non-space character; the space
# after a token belongs to it, so joining tokens gives the text back.
_TOKEN = re.compile(
    r"(?:[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\uff66-\uff9f]|[^\W\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]+|[^\w\s])"
    r"\s*"
)


# A word as a reader counts it: a CJK character alone (as 字 are counted), or a run of other word characters.
_CJK = "\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\uff66-\uff9f"
_WORD = re.compile(f"[{_CJK}]|[^\\W{_CJK}]+")


def word_count(text: str) -> int:
    """How long a version is, in words, counting each Chinese or Japanese character as one (a Chinese
    article has no spaces: split() would call a whole paragraph one word)."""
    return sum(1 for _ in _WORD.finditer(text)) if text else 0


def tokens(text: str) -> list[str]:
    """The text cut into diff tokens; `"".join(tokens(t))` is `t` without its leading whitespace."""
    return _TOKEN.findall(text.lstrip()) if text else []


@dataclass(frozen=True)
class Piece:
    kind: str  # "same", "removed", "added"
    text: str


def diff_tokens(before: str, after: str) -> list[Piece]:
    """The operations turning `before` into `after`, token by token, adjacent ones of a kind merged."""
    old, new = tokens(before), tokens(after)
    matcher = difflib.SequenceMatcher(
        None, [t.strip() for t in old], [t.strip() for t in new], autojunk=False
    )
    pieces: list[Piece] = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":  # a token followed by space on either side keeps it: both texts read back
            same = zip(old[i1:i2], new[j1:j2], strict=True)
            pieces.append(Piece("same", "".join(_spaced(a, b) for a, b in same)))
            continue
        if i2 > i1:
            pieces.append(Piece("removed", "".join(old[i1:i2])))
        if j2 > j1:
            pieces.append(Piece("added", "".join(new[j1:j2])))
    return pieces


def _spaced(old: str, new: str) -> str:
    """One unchanged token, with the space after it if either version has one."""
    word = new.rstrip()
    return word + (new[len(word) :] or old[len(old.rstrip()) :])


def _shortened(piece: Piece, first: bool, last: bool) -> str:
    parts = tokens(piece.text)
    keep_head = 0 if first else CONTEXT_TOKENS
    keep_tail = 0 if last else CONTEXT_TOKENS
    if len(parts) <= keep_head + keep_tail + 1:
        return piece.text
    return "".join(parts[:keep_head]) + " … " + "".join(parts[len(parts) - keep_tail :])


def render_text(pieces: list[Piece]) -> str:
    out: list[str] = []
    for index, piece in enumerate(pieces):
        if piece.kind == "same":
            out.append(_shortened(piece, index == 0, index == len(pieces) - 1))
        elif piece.kind == "removed":
            out.append(f"[-{piece.text.rstrip()}-]" + (" " if piece.text != piece.text.rstrip() else ""))
        else:
            out.append(f"{{+{piece.text.rstrip()}+}}" + (" " if piece.text != piece.text.rstrip() else ""))
    return "".join(out).strip()


def render_html(pieces: list[Piece]) -> str:
    out: list[str] = []
    for index, piece in enumerate(pieces):
        if piece.kind == "same":
            out.append(html.escape(_shortened(piece, index == 0, index == len(pieces) - 1)))
        else:
            tag = "del" if piece.kind == "removed" else "ins"
            out.append(f"<{tag}>{html.escape(piece.text)}</{tag}>")
    return "<p>" + "".join(out).strip() + "</p>"


def changed(pieces: list[Piece]) -> bool:
    return any(piece.kind != "same" for piece in pieces)
