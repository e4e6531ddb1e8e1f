"""Every number the prose of a notebook states must be printed by one of its cells.

A number counts when it has three or more significant digits (``0.902``, ``1,992``, ``64.5``, ``3.8e-6``);
shorter ones (``2``, ``0.5``, ``30%``) are settings or round figures and are left to the reader. The prose
is every markdown cell; the outputs are the streams, results and displays of the code cells *above* it in
the committed notebook, generated markdown (``display(Markdown(...))``) included. A prose number is
*printed* when some such output number, rounded to the prose's decimals, equals it (so a cell that prints
0.90173 backs "0.902", and "90.2%" when a percent sign follows). Inline code, links, URLs and the set-up
cell's badge are not prose.

    python tools/prose_numbers.py notebooks/*.ipynb     # lists what no output backs; exit 1 if any
"""

from __future__ import annotations

import re
import sys
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path

import nbformat

# A number as people write it: 1,992 / 0.9017 / 3.8e-6 / 1.2×10^-3 is read as 1.2 (its mantissa). A number
# fixed to a word by a hyphen is part of a name (SHA-256, UTF-8), not a quantity.
NUMBER = re.compile(r"(?<![\w.\-])[-−]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-−+]?\d+)?(?![\w])")
# Not prose: inline code, fenced code, link targets, URLs, HTML tags, version strings such as 2.13.0.
NOT_PROSE = re.compile(r"```.*?```|`[^`]*`|\]\([^)]*\)|<[^>]+>|https?://\S+|\b\d+\.\d+\.\d+\b", re.S)

# Numbers that are not results: the years of the papers the lessons cite (Jozefowicz et al. 2015,
# Selvaraju et al. 2017, Kermany et al. and Zech et al. 2018, MedMNIST v2 2023), and constants of the
# lessons' equations (ln 5 = 1.609 and ln 4 = 1.386, the loss of an untrained 5- and 4-way softmax; the
# last time step of lesson 03's grid, 99.9). Keep it short; a result never belongs here.
ALLOWED = {"2015", "2017", "2018", "2023", "1.609", "1.386", "99.9"}


def significant_digits(text: str) -> int:
    """How many significant digits ``1,992`` (4), ``0.0450`` (3) or ``320,000`` (2) has."""
    mantissa = re.split(r"[eE]", text.lstrip("-−").replace(",", ""))[0]
    if "." in mantissa:
        return len(mantissa.replace(".", "").lstrip("0"))
    return len(mantissa.lstrip("0").rstrip("0"))


def to_decimal(text: str) -> Decimal:
    return Decimal(text.replace(",", "").replace("−", "-"))


def prose_numbers(markdown: str) -> list[str]:
    """The numbers of three or more significant digits that a markdown cell states (``"90.2%"`` keeps its
    percent sign)."""
    text = NOT_PROSE.sub(" ", markdown).replace("{,}", ",")   # LaTeX writes 115,204 as 115{,}204
    return [m.group(0) + ("%" if text[m.end():m.end() + 1] == "%" else "") for m in NUMBER.finditer(text)
            if significant_digits(m.group(0)) >= 3 and m.group(0).lstrip("-−") not in ALLOWED]


def cell_output_text(cell) -> str:
    """What one code cell shows: streams, results, displays (plain text, markdown, HTML)."""
    parts = []
    for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
        if "text" in out:
            parts.append(out["text"])
        for kind in ("text/plain", "text/markdown", "text/html", "text/latex"):
            if kind in out.get("data", {}):
                parts.append(out["data"][kind])
    return "\n".join(parts)


def output_numbers(text: str) -> set[Decimal]:
    found = set()
    for m in NUMBER.finditer(text):
        try:
            found.add(to_decimal(m.group(0)))
        except InvalidOperation:
            continue
    return found


def backed(number: str, printed: set[Decimal]) -> bool:
    """Whether some printed value, rounded as the prose rounds, is ``number``; for ``"90.2%"`` the printed
    value may also be the fraction (0.902)."""
    target = to_decimal(number.rstrip("%"))
    quantum = Decimal(1).scaleb(target.as_tuple().exponent)
    for value in printed:
        for scale in ((1, 100) if number.endswith("%") else (1,)):
            scaled = value * scale
            if any(scaled.quantize(quantum, rounding=r) == target for r in (ROUND_HALF_UP, ROUND_HALF_EVEN)):
                return True
    return False


def unbacked_numbers(path: Path) -> list[tuple[int, str]]:
    """``(cell index, number)`` for every prose number that no output of the notebook prints."""
    nb = nbformat.read(path, as_version=4)
    printed: set[Decimal] = set()          # what the code cells above the current cell printed
    missing = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            missing += [(i, n) for n in prose_numbers(cell.source) if not backed(n, printed)]
        else:
            printed |= output_numbers(cell_output_text(cell))
    return missing


def main(paths: list[str]) -> int:
    bad = 0
    for path in paths:
        for index, number in unbacked_numbers(Path(path)):
            print(f"{path}: cell {index}: {number} is printed by no cell")
            bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
