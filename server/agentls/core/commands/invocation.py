"""When a prompt is a slash command, and what its arguments are.

The rule, the same in every front end (documented in `docs/extending.md`):

- `/name` or `/name arguments`, where `name` is a word of letters, digits, `_`, `-`, `.` and `:`
  (not starting with a punctuation mark) followed by whitespace or the end, invokes the command
  `name`; an unknown name is an error that lists similar names. Leading whitespace is ignored.
- `//text` sends `/text` to the model as an ordinary prompt: the escape for a prompt that has to
  start with what looks like a command.
- Anything else is an ordinary prompt, in particular a path (`/usr/bin/env is missing`: the first
  word holds another `/`) and a lone `/`.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

_NAME = re.compile(r"/([A-Za-z0-9][\w.:-]*)(?=\s|$)")


@dataclass(frozen=True)
class Invocation:
    name: str
    arguments: str
    """Everything after the name, surrounding whitespace removed (inner newlines kept)."""


def parse_invocation(prompt: str) -> Invocation | str:
    """The command `prompt` invokes, or the text to send to the model as it is."""
    text = prompt.lstrip()
    if text.startswith("//"):
        return text[1:]
    match = _NAME.match(text)
    if match is None:
        return prompt
    return Invocation(match.group(1), text[match.end() :].strip())


def split_arguments(arguments: str) -> list[str]:
    """Positional arguments (`$1`, `$2`, …): shell-like words, so `"two words"` is one; with
    unbalanced quotes, plain whitespace splitting."""
    try:
        return shlex.split(arguments)
    except ValueError:
        return arguments.split()
