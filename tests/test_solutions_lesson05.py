"""Lesson 05's worked solutions pass their checkers, and plausible wrong answers fail them."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from course_utils.exercises import lesson05

SOLUTIONS = Path(__file__).resolve().parents[1] / "solutions"


def solutions(lesson: str):
    spec = importlib.util.spec_from_file_location(f"solutions_{lesson}", SOLUTIONS / f"{lesson}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


S05 = solutions("lesson05")


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
WRONG = [(name, wrong) for name, (_, _, wrongs) in CASES.items() for wrong in wrongs]


@pytest.mark.parametrize("name", CASES)
def test_the_solution_passes(name, capsys):
    check, solution, _ = CASES[name]
    check(solution)
    assert ": correct (" in capsys.readouterr().out


@pytest.mark.parametrize("name, wrong", WRONG, ids=[wrong.__name__ for _, wrong in WRONG])
def test_a_wrong_answer_fails(name, wrong):
    check, _, _ = CASES[name]
    with pytest.raises(AssertionError):
        check(wrong)


def test_a_wrong_forward_fails():
    # The max first and the last state second: the Dense layer would read the halves the other way round
    with pytest.raises(AssertionError, match="out: relative error"):
        lesson05.check_last_and_max_head(lambda hs: np.concatenate([hs.max(axis=1), hs[:, -1]], axis=1),
                                         S05.last_and_max_backward)
