"""Checkers for the exercises of lesson 09 (text classification: an LSTM against bag-of-words and TF-IDF)."""

from __future__ import annotations

from math import comb

import numpy as np

from course_utils.exercises.checking import expect_close, expect_shape, report
from course_utils.lessons.text_classification.data import CLASSES
from course_utils.lessons.text_classification.sequence import WordEncoder, word_vocab
from course_utils.metrics import compare_paired


def _mcnemar_reference(a_only: int, b_only: int) -> float:
    """Two-sided exact binomial p-value of ``a_only`` against ``b_only``, with whole numbers until the end."""
    n = a_only + b_only
    if n == 0:
        return 1.0
    tail = sum(comb(n, k) for k in range(min(a_only, b_only) + 1))      # P(X <= min) times 2**n
    return min(1.0, 2 * tail / 2 ** n)


def _paired_predictions(rng, counts, labels):
    """Labels and two models' predictions with the given numbers of (A only, B only, both, neither) right.

    When both are wrong they often predict different wrong classes: A and B disagree on such a sentence,
    but it says nothing about which model is better.
    """
    a_only, b_only, both, neither = counts
    n = sum(counts)
    y = rng.choice(labels, n)
    wrong_a = np.array([rng.choice([c for c in labels if c != t]) for t in y], dtype=y.dtype)
    wrong_b = np.array([rng.choice([c for c in labels if c != t]) for t in y], dtype=y.dtype)
    kind = rng.permutation(np.repeat([0, 1, 2, 3], counts))    # 0: A only, 1: B only, 2: both, 3: neither
    pred_a = np.where((kind == 0) | (kind == 2), y, wrong_a)
    pred_b = np.where((kind == 1) | (kind == 2), y, wrong_b)
    return y, pred_a, pred_b


def check_mcnemar_p_value(mcnemar_p_value, seed: int = 0) -> None:
    """Exercise: ``mcnemar_p_value(y_true, pred_a, pred_b) -> p``, McNemar's exact test.

    ``y_true, pred_a, pred_b`` are ``(N,)`` arrays of labels (class names or ints). With ``b`` the number of
    sentences that A gets right and B wrong and ``c`` the reverse, ``p = min(1, 2 * sum_{k <= min(b, c)}
    C(b + c, k) / 2**(b + c))``, and 1 when ``b + c = 0``. Checked against a direct computation with whole
    numbers, itself checked against ``course_utils.metrics.compare_paired`` (SciPy's ``binomtest``).
    """
    rng = np.random.default_rng(seed)
    errors = {}
    cases = [(10, 4, 172, 5), (0, 0, 40, 6), (5, 5, 30, 10), (1, 0, 20, 2), (0, 7, 25, 8),
             (14, 4, 172, 1), (30, 0, 10, 5), (61, 37, 300, 40)]
    for case, counts in enumerate(cases):
        labels = np.array(CLASSES) if case % 2 == 0 else np.arange(len(CLASSES))
        y, pred_a, pred_b = _paired_predictions(rng, counts, labels)
        expected = _mcnemar_reference(counts[0], counts[1])
        library = compare_paired(y, pred_a, pred_b)["p_value"]
        assert abs(library - expected) <= 1e-9 * expected, "internal check of the exercise failed"
        answer = mcnemar_p_value(y.copy(), pred_a.copy(), pred_b.copy())
        assert np.ndim(answer) == 0, f"mcnemar_p_value should return one number, got shape {np.shape(answer)}"
        name = f"p-value, A only right {counts[0]}, B only right {counts[1]}, both wrong {counts[3]}"
        errors[f"{counts[0]} against {counts[1]}"] = expect_close(name, float(answer), expected, tol=1e-9)
    report("mcnemar_p_value", errors)


_WORDS = ("the", "a", "of", "minister", "vote", "bank", "shares", "school", "pupils", "coach", "team", "won",
          "rose", "fell", "election", "striker", "exam", "teachers", "prices", "parliament", "league",
          "market", "council", "budget", "final", "students", "rate", "season", "campaign", "profit")


def _sentences(rng, n, words, max_words):
    """``n`` news-like sentences with capitals and punctuation, which the tokeniser removes.

    The earlier words of ``words`` are the more frequent (a Zipf law), so counts differ and some tie.
    """
    weights = 1.0 / np.arange(1, len(words) + 1)
    out = []
    for _ in range(n):
        k = int(rng.integers(1, max_words + 1))
        chosen = rng.choice(words, k, p=weights / weights.sum())
        text = " ".join(chosen)
        out.append(text[0].upper() + text[1:] + rng.choice([".", "!", ", said officials.", "?"]))
    return out


def _first_difference(answer, expected, texts) -> str:
    row, col = (int(i[0]) for i in np.nonzero(answer != expected))
    hint = ""
    if expected[row, col] == 1 and answer[row, col] == 0:
        hint = ": a word not in the vocabulary is <UNK> = 1, never the padding id 0"
    elif expected[row, col] == 1:
        hint = ": this word is not in the training vocabulary (or seen fewer than min_freq times there)"
    elif answer[row, col] == 0:
        hint = ": the words come first and the padding 0 after them; a sentence is cut after max_len ids"
    elif answer[row, col] > 1:
        hint = (": count the words of train_texts only, keep those seen at least min_freq times, "
                "the most frequent first and ties in alphabetical order, from id 2")
    return (f"row {row} ({texts[row]!r}), position {col}: expected id {expected[row, col]}, got "
            f"{answer[row, col]}{hint}; expected {expected[row].tolist()}, got {answer[row].tolist()}")


def check_encode_with_min_freq(encode_with_min_freq, seed: int = 0) -> None:
    """Exercise: ``encode_with_min_freq(train_texts, texts, min_freq, max_len) -> ids (N, max_len)``.

    The vocabulary is built from ``train_texts`` only, on the words of ``course_utils.text.tokenize``:
    ``<PAD>`` = 0, ``<UNK>`` = 1, then every word seen at least ``min_freq`` times in training, the most
    frequent first, ties in alphabetical order. Each of the N ``texts`` becomes its word ids (a word not in
    the vocabulary is ``<UNK>``), cut after ``max_len`` ids and padded with 0 at the end: an integer array
    ``(N, max_len)``. Checked against the course's ``word_vocab`` and ``WordEncoder``.
    """
    rng = np.random.default_rng(seed)
    errors = {}
    weights = 1.0 / np.arange(1, len(_WORDS) + 1)                     # a few frequent words, many rare ones
    for min_freq, max_len, n_train in [(1, 12, 30), (2, 8, 40), (3, 20, 25)]:
        seen = list(rng.choice(_WORDS, 22, replace=False, p=weights / weights.sum()))
        train = _sentences(rng, n_train, seen, 9)
        texts = train[:5] + _sentences(rng, 10, list(_WORDS), 14)    # training sentences and new ones
        expected = WordEncoder(word_vocab(train, min_freq=min_freq), max_len).encode(texts)
        answer = expect_shape("ids", encode_with_min_freq(list(train), list(texts), min_freq, max_len),
                              expected.shape)
        assert np.issubdtype(answer.dtype, np.integer), f"ids: expected integers, got {answer.dtype}"
        assert np.array_equal(answer, expected), _first_difference(answer, expected, texts)
        errors[f"min_freq={min_freq}, max_len={max_len}"] = 0.0
    report("encode_with_min_freq", errors)
