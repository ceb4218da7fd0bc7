"""`${VAR}` and `${VAR:-default}` in server entries, as Claude Code expands them.

`${VAR}` is the variable's value and an error when it is not set (the entry is then skipped with a
warning, rather than a server started with a half-empty command line); `${VAR:-default}` falls back
to `default` when the variable is unset or empty, as in the shell. `$VAR` without braces is left
alone: many commands take a literal `$`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class ExpansionError(ValueError):
    """A `${VAR}` without a default names a variable that is not set."""


def expand(text: str, env: Mapping[str, str]) -> str:
    missing: list[str] = []

    def value(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        current = env.get(name)
        if default is not None:
            return current if current else default
        if current is None:
            missing.append(name)
            return ""
        return current

    out = _REFERENCE.sub(value, text)
    if missing:
        names = list(dict.fromkeys(missing))
        shown = ", ".join(f"${{{n}}}" for n in names)
        verb = "is" if len(names) == 1 else "are"
        raise ExpansionError(f"{shown} {verb} not set (write ${{{names[0]}:-default}} to give a default)")
    return out


def expand_all(values: Mapping[str, str], env: Mapping[str, str]) -> dict[str, str]:
    return {key: expand(value, env) for key, value in values.items()}
