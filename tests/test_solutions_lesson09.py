"""Lesson 09's worked solutions pass their checkers, and plausible wrong answers fail them."""

from __future__ import annotations

from collections import Counter
from math import comb

import numpy as np
from exercise_testing import checker_tests, load_solutions

from course_utils.exercises import lesson09
from course_utils.text import tokenize

S09 = load_solutions("lesson09")


def p_from_counts(b, c, factor=2, cap=True):
    tail = sum(comb(b + c, k) for k in range(min(b, c) + 1)) / 2 ** (b + c)
    return min(1.0, factor * tail) if cap else factor * tail


def counts(y_true, pred_a, pred_b):
    right_a, right_b = np.asarray(pred_a) == np.asarray(y_true), np.asarray(pred_b) == np.asarray(y_true)
    return int(np.sum(right_a & ~right_b)), int(np.sum(~right_a & right_b))


def one_sided(y_true, pred_a, pred_b):
    return p_from_counts(*counts(y_true, pred_a, pred_b), factor=1)          # forgot the factor 2


def no_cap(y_true, pred_a, pred_b):
    return p_from_counts(*counts(y_true, pred_a, pred_b), cap=False)         # above 1 when b == c


def disagreements(y_true, pred_a, pred_b):
    """Counts every sentence where the predictions differ as evidence, both-wrong ones included."""
    y_true, pred_a, pred_b = (np.asarray(a) for a in (y_true, pred_a, pred_b))
    differ = pred_a != pred_b
    return p_from_counts(int(np.sum(differ & (pred_a == y_true))), int(np.sum(differ & (pred_a != y_true))))


def unknown_as_padding(train_texts, texts, min_freq, max_len):
    ids = S09.encode_with_min_freq(train_texts, texts, min_freq, max_len)
    return np.where(ids == 1, 0, ids)                       # an unknown word silently deleted


def vocabulary_from_all_texts(train_texts, texts, min_freq, max_len):
    return S09.encode_with_min_freq(list(train_texts) + list(texts), texts, min_freq, max_len)   # a leak


def min_freq_ignored(train_texts, texts, min_freq, max_len):
    return S09.encode_with_min_freq(train_texts, texts, 1, max_len)        # every training word kept


def ties_by_first_appearance(train_texts, texts, min_freq, max_len):
    counts = Counter(w for t in train_texts for w in tokenize(t))
    words = [w for w, c in counts.most_common() if c >= min_freq]        # ties: first seen first
    vocab = {w: i for i, w in enumerate(words, start=2)}
    ids = np.zeros((len(texts), max_len), dtype=np.int64)
    for row, text in enumerate(texts):
        seq = [vocab.get(w, 1) for w in tokenize(text)][:max_len]
        ids[row, :len(seq)] = seq
    return ids


CHECK_P, CHECK_IDS = lesson09.check_mcnemar_p_value, lesson09.check_encode_with_min_freq
CASES = {
    "mcnemar_p_value": (CHECK_P, S09.mcnemar_p_value, [one_sided, no_cap, disagreements]),
    "encode_with_min_freq": (CHECK_IDS, S09.encode_with_min_freq,
                             [unknown_as_padding, vocabulary_from_all_texts, min_freq_ignored,
                              ties_by_first_appearance]),
}


test_the_solution_passes, test_a_wrong_answer_fails = checker_tests(CASES)
