"""A tiny sample project with one bug and a failing test, for the CLI to fix end to end."""

from __future__ import annotations

from pathlib import Path

BUGGY_LINE = "return a - b"
FIXED_LINE = "return a + b"

CALC = f'''"""Arithmetic helpers."""


def add(a, b):
    {BUGGY_LINE}
'''

TEST_CALC = """from calc import add


def test_add():
    assert add(2, 3) == 5
"""


def make_buggy_project(root: Path) -> Path:
    """Write `calc.py` (with the bug) and `test_calc.py` into `root`; return the path of calc.py."""
    root.mkdir(parents=True, exist_ok=True)
    calc = root / "calc.py"
    calc.write_text(CALC, encoding="utf-8")
    (root / "test_calc.py").write_text(TEST_CALC, encoding="utf-8")
    return calc
