"""Lesson 05's worked solutions pass their checkers, and plausible wrong answers fail them."""

from __future__ import annotations

import numpy as np
from exercise_testing import checker_tests, load_solutions

from course_utils.exercises import lesson05

S05 = load_solutions("lesson05")


def overwrite_last(dout, hs):
    H = hs.shape[2]
    dhs = np.zeros_like(hs)
    np.put_along_axis(dhs, hs.argmax(axis=1)[:, None, :], dout[:, None, H:], axis=1)
    dhs[:, -1] = dout[:, :H]                    # "=" for "+=": loses the max's gradient at the last step
    return dhs


def max_spread_over_steps(dout, hs):
    H = hs.shape[2]
    dhs = np.repeat(dout[:, None, H:] / hs.shape[1], hs.shape[1], axis=1)   # the max treated like a mean
    dhs[:, -1] += dout[:, :H]
    return dhs


def mix_log_probabilities(p_model, p_bigram, targets, alphas):
    rows = np.arange(len(targets))
    log_model, log_bigram = np.log(p_model[rows, targets]), np.log(p_bigram[rows, targets])
    log_q = log_model[:, None] * alphas + log_bigram[:, None] * (1 - alphas)   # mixes the logarithms:
    losses = -log_q.mean(axis=0)                # a weighted geometric mean, not a mixture (nor normalised)
    return float(alphas[np.argmin(losses)]), losses


def index_not_alpha(p_model, p_bigram, targets, alphas):
    _, losses = S05.choose_mixture_weight(p_model, p_bigram, targets, alphas)
    return int(np.argmin(losses)), losses       # the position in the list, not the weight


CASES = {
    "last_and_max_head": (lambda fn: lesson05.check_last_and_max_head(S05.last_and_max_forward, fn),
                          S05.last_and_max_backward, [overwrite_last, max_spread_over_steps]),
    "mixture_weight": (lesson05.check_mixture_weight, S05.choose_mixture_weight,
                       [mix_log_probabilities, index_not_alpha]),
}
test_the_solution_passes, test_a_wrong_answer_fails = checker_tests(CASES)
