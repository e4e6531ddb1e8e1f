"""Lesson 08's worked solutions pass their checkers, and plausible wrong answers fail them."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from course_utils.exercises import lesson08

SOLUTIONS = Path(__file__).resolve().parents[1] / "solutions"


def solutions(lesson: str):
    spec = importlib.util.spec_from_file_location(f"solutions_{lesson}", SOLUTIONS / f"{lesson}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


S08 = solutions("lesson08")


def one_softmax_only(z, y):
    """The gradient of the model without the extra softmax: forgets the first softmax's Jacobian."""
    ds = S08.softmax(S08.softmax(z))
    ds[np.arange(len(y)), y] -= 1
    return ds / len(y)


def sum_not_mean(z, y):
    return S08.double_softmax_backward(z, y) * len(y)          # the gradient of the sum, not of the mean


def shuffles_the_padding(ids, rng, pad_id=0):
    return rng.permuted(ids, axis=1)                            # the padding moves into the sentence


def one_order_for_all(ids, rng, pad_id=0):
    """One permutation per sentence length, shared by every row: not a shuffle of each row on its own."""
    out = np.array(ids, copy=True)
    orders = {}
    for row in out:
        n = int(np.sum(row != pad_id))
        order = orders.setdefault(n, rng.permutation(n))
        row[:n] = row[:n][order]
    return out


def global_generator(ids, rng, pad_id=0):
    return S08.shuffle_tokens(ids, np.random.default_rng(), pad_id)   # ignores rng: not repeatable


CASES = {
    "double_softmax": (lesson08.check_double_softmax_backward, S08.double_softmax_backward, one_softmax_only),
    "double_softmax_sum": (lesson08.check_double_softmax_backward, S08.double_softmax_backward, sum_not_mean),
    "shuffle_padding": (lesson08.check_shuffle_tokens, S08.shuffle_tokens, shuffles_the_padding),
    "shuffle_one_order": (lesson08.check_shuffle_tokens, S08.shuffle_tokens, one_order_for_all),
    "shuffle_global_rng": (lesson08.check_shuffle_tokens, S08.shuffle_tokens, global_generator),
}


@pytest.mark.parametrize("name", CASES)
def test_the_solution_passes(name, capsys):
    check, solution, _ = CASES[name]
    check(solution)
    assert ": correct (" in capsys.readouterr().out


@pytest.mark.parametrize("name", CASES)
def test_a_wrong_answer_fails(name):
    check, _, wrong = CASES[name]
    with pytest.raises(AssertionError):
        check(wrong)


def test_the_padding_message_names_the_row():
    with pytest.raises(AssertionError, match=r"row \d+: the padding moved"):
        lesson08.check_shuffle_tokens(shuffles_the_padding)
