"""Every worked solution in solutions/ passes its exercise's checker, and a wrong answer fails it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from course_utils.exercises import lesson01, lesson02, lesson04

SOLUTIONS = Path(__file__).resolve().parents[1] / "solutions"


def solutions(lesson: str):
    spec = importlib.util.spec_from_file_location(f"solutions_{lesson}", SOLUTIONS / f"{lesson}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


S01, S02, S04 = solutions("lesson01"), solutions("lesson02"), solutions("lesson04")


def wrong_rnn_step_backward(dh, cache):
    x, h_prev, W_x, W_h, h = cache
    da = dh                                     # forgot the tanh slope
    return da @ W_x.T, da @ W_h.T, x.T @ da, h_prev.T @ da, da.sum(axis=0)


def wrong_bigram(train_ids, val_ids, V):
    counts = np.ones(V)                         # a unigram, not a bigram
    np.add.at(counts, train_ids, 1)
    return float(-np.mean(np.log(counts[val_ids[1:]] / counts.sum())))


def wrong_lstm_backward(dhs, caches, dh_T, dc_T):
    return S02.lstm_backward(dhs, caches, dh_T, np.zeros_like(dc_T))   # drops the gradient at c_T


def wrong_conv1d_backward(dz, e, W):
    de, dW, db = S04.conv1d_backward(dz, e, W)
    return de, dW, dz.sum(axis=(0, 1)) / dz.shape[1]                # the bias gradient averaged


CASES = {
    "rnn_step_backward": (lambda fn: lesson01.check_rnn_step_backward(fn), S01.rnn_step_backward,
                          wrong_rnn_step_backward),
    "memory_path": (lambda fn: lesson01.check_memory_path(fn), S01.memory_path_gradient,
                    lambda f: f.sum(axis=0)),
    "bigram": (lambda fn: lesson02.check_bigram_cross_entropy(fn), S02.bigram_cross_entropy, wrong_bigram),
    "bptt_final_state": (lambda fn: lesson02.check_bptt_with_final_state(fn), S02.lstm_backward,
                         wrong_lstm_backward),
    "average_pool": (lambda fn: lesson04.check_average_pool(S04.avg_pool_forward, fn), S04.avg_pool_backward,
                     lambda dm, T: np.repeat(dm[:, None, :], T, axis=1)),     # forgot the 1/T
    "conv1d_by_offsets": (lambda fn: lesson04.check_conv1d_backward_by_offsets(fn), S04.conv1d_backward,
                          wrong_conv1d_backward),
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


def test_a_wrong_shape_is_named():
    with pytest.raises(AssertionError, match=r"da: expected shape \(1, 1, 1\), got \(1, 1\)"):
        lesson04.check_average_pool(S04.avg_pool_forward, lambda dm, T: dm)
