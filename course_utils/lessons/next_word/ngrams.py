"""Next-word prediction (lessons 04-06): the counting baselines that the neural models must beat.

    bigram = BigramModel(len(vocab), weight=0.5).fit(*data["train"])   # counts from the training split
    weight, table = choose_bigram_weight(data["train"], data["val"], len(vocab))   # chosen on validation
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from course_utils.lessons.next_word.corpus import check_ids
from course_utils.metrics import check_targets, cross_entropy
from course_utils.text import PAD_ID


class UnigramModel:
    """Predict every word with its frequency as a training *target*, whatever the context.

    ``P(w) = (count(w) + k) / (n + k (V - 1))`` for every id ``w`` except ``<PAD>``, which is never
    a target and gets probability 0. Add-``k`` smoothing (``k = 1`` by default: Laplace) gives
    the words never seen as a target a small probability instead of zero.
    """

    seq_len = 1          # predict_next needs one; the unigram model ignores the context anyway

    def __init__(self, vocab_size: int, k: float = 1.0):
        if not k > 0:
            raise ValueError(f"k: expected a positive smoothing count, got {k!r}")
        self.vocab_size, self.k = int(vocab_size), float(k)
        self.probs = None

    def fit(self, Y) -> UnigramModel:
        """``Y (n,)``: the training targets."""
        Y = check_targets(Y, vocab_size=self.vocab_size)
        counts = np.bincount(Y, minlength=self.vocab_size).astype(np.float64)
        counts += self.k
        counts[PAD_ID] = 0.0
        self.probs = counts / counts.sum()                                  # (V,)
        return self

    def predict_proba(self, X) -> np.ndarray:
        """``X (N, any)`` -> ``(N, V)``: the same row for every context."""
        if self.probs is None:
            raise RuntimeError("UnigramModel: call fit(Y_train) first")
        X = check_ids(X)
        return np.tile(self.probs, (len(X), 1))


class BigramModel:
    """The previous word's bigram counts, interpolated with the unigram model.

    With ``v`` the last word of the context (``X[:, -1]``) and ``w`` the next word::

        P(w | v) = weight * count(v, w) / count(v)  +  (1 - weight) * P_unigram(w)

    (Jelinek-Mercer interpolation); a context word never seen in training (``count(v) = 0``)
    falls back to ``P_unigram(w)``. ``weight`` in [0, 1) is chosen on the validation split
    (:func:`choose_bigram_weight`); ``weight < 1`` keeps every probability above zero.
    """

    seq_len = 1          # the bigram model reads one word of context

    def __init__(self, vocab_size: int, weight: float = 0.7, k: float = 1.0):
        if not 0.0 <= weight < 1.0:
            raise ValueError(f"weight: expected a number in [0, 1), got {weight!r}")
        self.vocab_size, self.weight = int(vocab_size), float(weight)
        self.unigram = UnigramModel(vocab_size, k)
        self.counts = None

    def fit(self, X, Y) -> BigramModel:
        """``X (n, seq_len)``, ``Y (n,)``: the training examples (only ``X[:, -1]`` is used)."""
        X = check_ids(X)
        Y = check_targets(Y, len(X), self.vocab_size)
        self.unigram.fit(Y)
        V = self.vocab_size
        # counts[v, w] = how often w followed v; one bincount over the flattened pair index.
        self.counts = np.bincount(X[:, -1] * V + Y, minlength=V * V).reshape(V, V).astype(np.float64)
        return self

    def predict_proba(self, X) -> np.ndarray:
        """``X (N, seq_len)`` -> ``(N, V)``, one row per context."""
        if self.counts is None:
            raise RuntimeError("BigramModel: call fit(X_train, Y_train) first")
        X = check_ids(X)
        prev = X[:, -1]
        if prev.size and prev.max() >= self.vocab_size:
            raise ValueError(f"X: expected ids below vocab_size={self.vocab_size}, got {prev.max()}")
        rows = self.counts[prev]                                             # (N, V)
        totals = rows.sum(axis=1, keepdims=True)                             # (N, 1): count(v)
        seen = totals > 0
        ml = np.divide(rows, totals, out=np.zeros_like(rows), where=seen)   # count(v, w) / count(v)
        lam = np.where(seen, self.weight, 0.0)                               # unseen v: unigram only
        return lam * ml + (1.0 - lam) * self.unigram.probs


def choose_bigram_weight(train_data, val_data, vocab_size: int, weights=None, k: float = 1.0):
    """Fit one bigram model per ``weight`` on ``train_data`` and score each on ``val_data``.

    Returns ``(best_weight, table)``; ``table`` has the validation cross-entropy and perplexity
    per weight. The test split plays no part.
    """
    weights = np.round(np.arange(0.0, 1.0, 0.05), 2) if weights is None else np.asarray(weights, float)
    rows = []
    for w in weights:
        model = BigramModel(vocab_size, weight=float(w), k=k).fit(*train_data)
        ce = cross_entropy(model.predict_proba(val_data[0]), val_data[1])
        rows.append({"weight": float(w), "val_cross_entropy": ce, "val_perplexity": float(np.exp(ce))})
    table = pd.DataFrame(rows)
    best = float(table.loc[table["val_cross_entropy"].idxmin(), "weight"])
    return best, table
