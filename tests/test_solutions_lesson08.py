"""Lesson 08's worked solutions pass their checkers, and plausible wrong answers fail them."""

from __future__ import annotations

import numpy as np
from exercise_testing import checker_tests, load_solutions

from course_utils.exercises import lesson08

S08 = load_solutions("lesson08")


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
    "double_softmax": (lesson08.check_double_softmax_backward, S08.double_softmax_backward,
                       [one_softmax_only, sum_not_mean]),
    "shuffle_tokens": (lesson08.check_shuffle_tokens, S08.shuffle_tokens,
                       [shuffles_the_padding, one_order_for_all, global_generator]),
}


test_the_solution_passes, test_a_wrong_answer_fails = checker_tests(CASES)
