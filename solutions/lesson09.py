"""Worked solutions of lesson 09's code exercises (checked by ``course_utils.exercises.lesson09``)."""

from collections import Counter
from math import comb

import numpy as np

from course_utils.text import tokenize


def mcnemar_p_value(y_true, pred_a, pred_b):
    """McNemar's exact test: is the split of the sentences that only one model gets right surprising?"""
    y_true, pred_a, pred_b = (np.asarray(a) for a in (y_true, pred_a, pred_b))
    right_a, right_b = pred_a == y_true, pred_b == y_true
    # Only the sentences where exactly one model is right say which is better. Two models that are both
    # wrong may predict different classes: they disagree, but that is no evidence either way.
    b = int(np.sum(right_a & ~right_b))
    c = int(np.sum(~right_a & right_b))
    n = b + c
    if n == 0:
        return 1.0                          # no sentence tells the two apart
    # If both models were equally good, each of these n sentences would go to A with probability 1/2:
    # b ~ Binomial(n, 1/2). Two-sided: a split at least this uneven, in either direction. The binomial
    # with p = 1/2 is symmetric, so that is twice the smaller tail.
    tail = sum(comb(n, k) for k in range(min(b, c) + 1)) / 2 ** n
    # When b == c the two tails overlap in the middle and 2 * tail exceeds 1: a probability is at most 1
    return min(1.0, 2 * tail)


def encode_with_min_freq(train_texts, texts, min_freq, max_len):
    """Word ids (N, max_len) with a vocabulary of the training words seen at least min_freq times."""
    # Counted on the training texts only: a word first seen in validation or test must stay unknown,
    # as it would for a sentence that arrives after the model is shipped
    counts = Counter(word for text in train_texts for word in tokenize(text))
    # Most frequent first, ties alphabetical: the same texts always give the same ids
    words = sorted((w for w, c in counts.items() if c >= min_freq), key=lambda w: (-counts[w], w))
    vocab = {"<PAD>": 0, "<UNK>": 1}
    vocab.update({w: i for i, w in enumerate(words, start=2)})
    ids = np.zeros((len(texts), max_len), dtype=np.int64)     # 0 = <PAD> everywhere a word does not fill
    for row, text in enumerate(texts):
        # A rare or unseen word is still a word: <UNK> = 1, never the padding id, which the mask skips
        sequence = [vocab.get(word, 1) for word in tokenize(text)][:max_len]   # cut long sentences
        ids[row, :len(sequence)] = sequence                   # words first, padding at the end
    return ids
