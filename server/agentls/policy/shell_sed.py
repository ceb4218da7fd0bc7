"""Find the sed commands that write files, read files or run programs (`w`, `W`, `r`, `R`, `e`, `s///w`,
`s///e`): the sed bypasses of research/security.md section 2 (GHSA-mhg7-666j-cqg4, GHSA-7mv8-j34q-vp7q).

A small reader for GNU sed scripts: addresses, `!`, blocks, and every command letter. Anything it does
not recognise is reported as a problem too, so a script it misreads can only be flagged, never passed.
"""

from __future__ import annotations

_SIMPLE = set("=dDgGhHnNpPxzF")
_S_FLAGS = set("gpiImM0123456789")


class _SedError(Exception):
    pass


class _Reader:
    def __init__(self, script: str) -> None:
        self.s = script
        self.i = 0

    def peek(self) -> str:
        return self.s[self.i] if self.i < len(self.s) else ""

    def skip(self, chars: str) -> None:
        while self.i < len(self.s) and self.s[self.i] in chars:
            self.i += 1

    def until(self, stops: str) -> str:
        start = self.i
        while self.i < len(self.s) and self.s[self.i] not in stops:
            self.i += 1
        return self.s[start : self.i]

    def delimited(self, delim: str) -> None:
        """Read up to and past an unescaped `delim` (regex or replacement text)."""
        while self.i < len(self.s):
            ch = self.s[self.i]
            if ch == "\\":
                self.i += 2
                continue
            self.i += 1
            if ch == delim:
                return
        raise _SedError("unterminated regex or replacement")

    def address(self) -> None:
        ch = self.peek()
        if ch.isdigit():
            self.skip("0123456789")
            if self.peek() == "~":
                self.i += 1
                self.skip("0123456789")
        elif ch == "$":
            self.i += 1
        elif ch in ("/", "\\"):
            if ch == "\\":
                self.i += 1
                ch = self.peek()
                if not ch or ch in "\n\\":
                    raise _SedError("bad regex delimiter")
            self.i += 1
            self.delimited(ch)
            self.skip("IM")

    def second_address(self) -> None:
        if self.peek() in ("+", "~"):
            self.i += 1
            self.skip("0123456789")
        else:
            self.address()


def sed_script_problem(script: str) -> str | None:
    """Why this sed script is unsafe to auto-approve, or None when it only filters text."""
    try:
        return _scan(_Reader(script))
    except _SedError as exc:
        return f"could not be read ({exc})"


def _scan(r: _Reader) -> str | None:  # noqa: C901 - one branch per sed command family
    while True:
        r.skip(" \t\n;")
        if r.i >= len(r.s):
            return None
        r.address()
        r.skip(" \t")
        if r.peek() == ",":
            r.i += 1
            r.skip(" \t")
            r.second_address()
        r.skip(" \t")
        while r.peek() == "!":
            r.i += 1
            r.skip(" \t")
        cmd = r.peek()
        r.i += 1
        if cmd in ("{", "}") or cmd in _SIMPLE:
            continue
        if cmd in ("w", "W"):
            return f"has a `{cmd}` command that writes a file"
        if cmd in ("r", "R"):
            return f"has an `{cmd}` command that reads a file"
        if cmd == "e":
            return "has an `e` command that runs a program"
        if cmd == "s":
            problem = _substitute(r)
            if problem:
                return problem
        elif cmd == "y":
            delim = r.peek()
            if not delim or delim in "\n\\":
                raise _SedError("bad y delimiter")
            r.i += 1
            r.delimited(delim)
            r.delimited(delim)
        elif cmd in ("a", "i", "c", "#"):
            _to_line_end(r)
        elif cmd in ("b", "t", "T", ":", "v"):
            r.until(";\n")
        elif cmd in ("q", "Q", "l", "L"):
            r.skip(" \t0123456789")
        else:
            return f"has a command {cmd!r} this analysis does not know"


def _substitute(r: _Reader) -> str | None:
    delim = r.peek()
    if not delim or delim in "\n\\":
        raise _SedError("bad s delimiter")
    r.i += 1
    r.delimited(delim)
    r.delimited(delim)
    while r.i < len(r.s) and r.s[r.i] not in ";\n}":
        flag = r.s[r.i]
        r.i += 1
        if flag == "w":
            return "has an s///w flag that writes a file"
        if flag == "e":
            return "has an s///e flag that runs a program"
        if flag in " \t":
            continue
        if flag not in _S_FLAGS:
            raise _SedError(f"unknown s flag {flag!r}")
    return None


def _to_line_end(r: _Reader) -> None:
    while r.i < len(r.s):
        ch = r.s[r.i]
        r.i += 2 if ch == "\\" else 1
        if ch == "\n":
            return
