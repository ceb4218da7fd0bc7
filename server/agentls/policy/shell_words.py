"""Turn tree-sitter-bash word nodes into the strings bash would see, with bash's quoting rules.

The raw node text of `r\\m` keeps the backslash, so a rule compared with raw text misses the `rm` that
bash runs (research/security.md 3.1). Every word is therefore rebuilt here: escapes in unquoted words
are removed, double-quoted strings keep only bash's five escapes, single quotes are taken verbatim and
`$'...'` is decoded like bash does. Parts that only the running shell can know (expansions,
substitutions, brace expansion) are kept as their source text and mark the word `dynamic`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import tree_sitter_bash
from tree_sitter import Language, Node, Parser, Tree

_LANGUAGE = Language(tree_sitter_bash.language())

SUBSTITUTIONS = frozenset({"command_substitution", "process_substitution"})
EXPANSIONS = frozenset({"simple_expansion", "expansion", "arithmetic_expansion"})
WORDISH = frozenset(
    {
        "word",
        "number",
        "string",
        "raw_string",
        "ansi_c_string",
        "concatenation",
        "brace_expression",
        "variable_name",
        *SUBSTITUTIONS,
        *EXPANSIONS,
    }
)


def parse_tree(source: str) -> Tree:
    """Parse with tree-sitter-bash (a fresh parser per call: parsers are not shared across threads)."""
    return Parser(_LANGUAGE).parse(source.encode("utf-8", "surrogateescape"))


@dataclass(frozen=True)
class Word:
    value: str
    dynamic: bool = False
    """Contains an expansion, a substitution or a brace expansion: `value` is not what runs."""
    glob: bool = False
    """Contains an unquoted `*`, `?` or `[...]`."""
    quoted: bool = False
    """Some part was quoted or escaped."""
    tilde: bool = False
    """Starts with an unquoted `~`."""
    stars: tuple[int, ...] = ()
    """Positions in `value` of unquoted `*` (wildcards when the word is read as a rule pattern)."""

    @property
    def literal(self) -> bool:
        return not (self.dynamic or self.glob)


def literal_word(value: str) -> Word:
    return Word(value)


_SIMPLE_ESCAPES = {
    "a": "\a",
    "b": "\b",
    "e": "\x1b",
    "E": "\x1b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
    "'": "'",
    '"': '"',
    "?": "?",
}
_HEX = "0123456789abcdefABCDEF"


def decode_ansi_c(body: str) -> str:
    """Decode the inside of `$'...'` the way bash does (unknown escapes keep their backslash)."""
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch != "\\" or i + 1 >= len(body):
            out.append(ch)
            i += 1
            continue
        esc = body[i + 1]
        i += 2
        if esc in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[esc])
        elif esc in "01234567":
            j = i
            while j < len(body) and j < i + 2 and body[j] in "01234567":
                j += 1
            out.append(chr(int(esc + body[i:j], 8) & 0xFF))
            i = j
        elif esc == "x" and body[i : i + 1] == "{":
            # bash reads `\x{HHH…}` with any number of digits, the closing brace optional.
            j = i + 1
            while j < len(body) and body[j] in _HEX:
                j += 1
            out.append(chr(min(int(body[i + 1 : j] or "0", 16), 0x10FFFF)))
            i = j + 1 if body[j : j + 1] == "}" else j
        elif esc in "xuU":
            limit = {"x": 2, "u": 4, "U": 8}[esc]
            j = i
            while j < len(body) and j < i + limit and body[j] in _HEX:
                j += 1
            if j == i:
                out.append("\\" + esc)
            else:
                out.append(chr(min(int(body[i:j], 16), 0x10FFFF)))
            i = j
        elif esc == "c" and i < len(body):
            out.append("\x7f" if body[i] == "?" else chr(ord(body[i]) & 0x1F))
            i += 1
        else:
            out.append("\\" + esc)
    # Like bash, the string ends at the first NUL.
    return "".join(out).split("\x00", 1)[0]


class _Builder:
    def __init__(self) -> None:
        self.chars: list[str] = []
        self.active: list[bool] = []
        """Per character: unquoted and unescaped, so glob/brace/tilde syntax in it is live."""
        self.dynamic = False
        self.quoted = False

    def add(self, text: str, active: bool) -> None:
        self.chars.extend(text)
        self.active.extend([active] * len(text))

    def word(self) -> Word:
        return Word(
            "".join(self.chars),
            dynamic=self.dynamic or self._brace(),
            glob=self._glob(),
            quoted=self.quoted,
            tilde=bool(self.chars) and self.chars[0] == "~" and self.active[0],
            stars=tuple(self._live("*")),
        )

    def _live(self, ch: str) -> list[int]:
        return [i for i, (c, a) in enumerate(zip(self.chars, self.active, strict=True)) if a and c == ch]

    def _glob(self) -> bool:
        if self._live("*") or self._live("?"):
            return True
        opens, closes = self._live("["), self._live("]")
        return bool(opens and closes and closes[-1] > opens[0])

    def _brace(self) -> bool:
        opens, closes = self._live("{"), self._live("}")
        if not opens or not closes or closes[-1] < opens[0]:
            return False
        inner = range(opens[0] + 1, closes[-1])
        commas = any(self.active[i] and self.chars[i] == "," for i in inner)
        return commas or ".." in "".join(self.chars[opens[0] : closes[-1]])


def _unescape_unquoted(text: str, out: _Builder) -> None:
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            out.quoted = True
            if nxt != "\n":
                out.add(nxt, active=False)
            i += 2
            continue
        out.add(ch, active=True)
        i += 1


def _has_blank(text: str) -> bool:
    escaped = False
    for ch in text:
        if not escaped and ch in " \t\n":
            return True
        escaped = not escaped and ch == "\\"
    return False


def _unescape_double_quoted(text: str, out: _Builder) -> None:
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text) and text[i + 1] in '$`"\\\n':
            if text[i + 1] != "\n":
                out.add(text[i + 1], active=False)
            i += 2
            continue
        out.add(ch, active=False)
        i += 1


class WordReader:
    """Reads word nodes; reports substitutions it meets and anything it does not understand."""

    def __init__(self, on_substitution: Callable[[Node], None], on_problem: Callable[[str], None]) -> None:
        self._on_substitution = on_substitution
        self._on_problem = on_problem

    def read(self, node: Node) -> Word:
        out = _Builder()
        self._part(node, out)
        return out.word()

    def scan(self, node: Node) -> None:
        """Visit every substitution below `node` (for parts that are evaluated but never run)."""
        if node.type in SUBSTITUTIONS:
            self._on_substitution(node)
            return
        for child in node.children:
            self.scan(child)

    def _part(self, node: Node, out: _Builder) -> None:
        text = _text(node)
        kind = node.type
        if kind in ("word", "number", "variable_name"):
            if _has_blank(text):
                self._on_problem(f"a blank inside one word, where bash would split: {text!r}")
            _unescape_unquoted(text, out)
        elif kind == "raw_string":
            out.quoted = True
            out.add(text[1:-1], active=False)
        elif kind == "ansi_c_string":
            out.quoted = True
            out.add(decode_ansi_c(text[2:-1]), active=False)
        elif kind == "string":
            out.quoted = True
            self._string(node, out)
        elif kind == "concatenation":
            for child in node.children:
                self._part(child, out)
        elif kind in SUBSTITUTIONS or kind in EXPANSIONS or kind == "brace_expression":
            self.scan(node)
            out.dynamic = True
            out.add(text, active=False)
        else:
            self._on_problem(f"unrecognised word syntax `{kind}` in {text!r}")
            out.dynamic = True
            out.add(text, active=False)

    def _string(self, node: Node, out: _Builder) -> None:
        for child in node.children:
            if child.type == '"':
                continue
            if child.type == "string_content":
                _unescape_double_quoted(_text(child), out)
            elif child.type in SUBSTITUTIONS or child.type in EXPANSIONS:
                self.scan(child)
                out.dynamic = True
                out.add(_text(child), active=False)
            else:
                self._on_problem(f"unrecognised string syntax `{child.type}` in {_text(node)!r}")
                out.dynamic = True
                out.add(_text(child), active=False)


def _text(node: Node) -> str:
    raw = node.text
    return raw.decode("utf-8", "surrogateescape") if raw is not None else ""
