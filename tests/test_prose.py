"""The lessons' prose speaks to the learner: every number it states is printed by a cell, and it tells no
history of how the course was made (that lives in git and CHANGELOG.md)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))

from prose_numbers import backed, output_numbers, prose_numbers, significant_digits, unbacked_numbers  # noqa: E402

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))

# Words that only make sense to the people who built the course.
HISTORY = re.compile(
    r"(?i)\b(the issue|this issue|issue behind|sessions?|first version|earlier versions?|previous version"
    r"|seed design|scratch script|logged outside|outside the repository|not available here"
    r"|while the lesson was prepared|this machine)\b")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_number_in_the_prose_is_printed_by_a_cell(path):
    missing = unbacked_numbers(path)
    assert not missing, f"{path.name}: numbers in markdown that no output prints (cell, number): {missing}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_prose_tells_no_history_of_the_course(path):
    nb = nbformat.read(path, as_version=4)
    said = [(i, m.group(0)) for i, cell in enumerate(nb.cells) if cell.cell_type == "markdown"
            for m in HISTORY.finditer(cell.source)]
    assert not said, f"{path.name}: prose about how the course was made (cell, words): {said}"


def test_significant_digits_are_counted_as_people_read_them():
    assert [significant_digits(t) for t in ("1,992", "0.0450", "320,000", "3.8e-6", "7", "-0.25")] == \
        [4, 3, 2, 2, 1, 2]


def test_the_scan_finds_prose_numbers_and_skips_code_links_and_versions():
    text = ("Accuracy 0.9017 on 1,992 sentences, 3.8e-6 apart; `lr=0.00123` and torch 2.13.0 are code; "
            "[a link](https://x.org/1234567), http://127.0.0.1:7860/, SHA-256 and 30% and 2 are not prose or "
            "too short.")
    assert prose_numbers(text) == ["0.9017", "1,992"]


def test_a_prose_number_is_backed_only_by_a_printed_value_that_rounds_to_it():
    printed = output_numbers("test accuracy 0.90173\nsentences: 1992\nloss 1.30475")
    assert backed("0.902", printed) and backed("90.2%", printed) and backed("1,992", printed)
    assert not backed("90.2", printed)                    # a fraction backs a percentage only
    assert backed("1.305", printed)
    assert not backed("0.903", printed)
    assert not backed("1,993", printed)
    assert not backed("1.31", output_numbers("loss 1.2999"))


def test_a_percent_sign_stays_with_its_number():
    assert prose_numbers("a gain of 12.5% and 3.25 points") == ["12.5%", "3.25"]


def test_a_number_printed_only_below_the_prose_does_not_back_it(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("The model will score 0.844."),
                nbformat.v4.new_code_cell("print(0.8441)", outputs=[
                    nbformat.v4.new_output("stream", name="stdout", text="0.8441\n")]),
                nbformat.v4.new_markdown_cell("It scored 0.844.")]
    path = tmp_path / "order.ipynb"
    nbformat.write(nb, path)
    assert unbacked_numbers(path) == [(0, "0.844")]


def test_a_notebook_with_an_unprinted_number_fails_the_scan(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("print(0.8441)", outputs=[
        nbformat.v4.new_output("stream", name="stdout", text="0.8441\n")]),
        nbformat.v4.new_markdown_cell("It scores 0.844, far above the 0.701 of the baseline.")]
    path = tmp_path / "probe.ipynb"
    nbformat.write(nb, path)
    assert unbacked_numbers(path) == [(1, "0.701")]


def test_the_history_words_are_caught_and_lesson_words_are_not():
    said = "In the first version of this lesson, while the lesson was prepared, this machine was slow."
    assert [m.group(0) for m in HISTORY.finditer(said)] == ["first version", "while the lesson was prepared",
                                                             "this machine"]
    assert not HISTORY.search("The first epoch is slow; the validation split decides; the model is saved.")
