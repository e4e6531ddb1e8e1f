"""What every exercise's tests share: load a lesson's worked solutions, and the two tests each checker gets.

    S07 = load_solutions("lesson07")
    CASES = {"cost_threshold": (check_cost_threshold, S07.cost_threshold, [wrong_1, wrong_2])}
    test_the_solution_passes, test_a_wrong_answer_fails = checker_tests(CASES)
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SOLUTIONS = Path(__file__).resolve().parents[1] / "solutions"


def load_solutions(lesson: str):
    """``solutions/<lesson>.py`` as a module (the folder is not a package: learners open the files)."""
    spec = importlib.util.spec_from_file_location(f"solutions_{lesson}", SOLUTIONS / f"{lesson}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def checker_tests(cases: dict):
    """The two tests of ``{name: (check, solution, [wrong answers])}``.

    The solution passes its checker (which prints "correct"), and every wrong answer fails it.
    """
    wrong_answers = [(name, wrong) for name, (_, _, wrongs) in cases.items() for wrong in wrongs]

    @pytest.mark.parametrize("name", cases)
    def test_the_solution_passes(name, capsys):
        check, solution, _ = cases[name]
        check(solution)
        assert ": correct (" in capsys.readouterr().out

    ids = [f"{name}-{wrong.__name__}" for name, wrong in wrong_answers]

    @pytest.mark.parametrize("name, wrong", wrong_answers, ids=ids)
    def test_a_wrong_answer_fails(name, wrong):
        with pytest.raises(AssertionError):
            cases[name][0](wrong)

    return test_the_solution_passes, test_a_wrong_answer_fails
