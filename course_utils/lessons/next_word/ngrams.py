"""Next-word prediction (lessons 04-06): the counting baselines that the neural models must beat.

    bigram = BigramModel(len(vocab), weight=0.5).fit(*data["train"])   # counts from the training split
    weight, table = choose_bigram_weight(data["train"], data["val"], len(vocab))   # chosen on validation
    kn = KneserNeyModel(len(vocab), order=3, discount=0.75).fit(*data["train"])   # the strongest counter
    best, table = choose_ngram(data["train"], data["val"], len(vocab))   # every baseline, one named best
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

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
        self.totals = self.counts.sum(axis=1)                                # (V,): count(v)
        return self

    def predict_proba(self, X) -> np.ndarray:
        """``X (N, seq_len)`` -> ``(N, V)``, one row per context."""
        prev = self._previous_words(X)
        totals = self.totals[prev][:, None]                                  # (N, 1): count(v)
        ml = np.divide(self.counts[prev], totals, out=np.zeros((len(prev), self.vocab_size)),
                       where=totals > 0)                                     # count(v, w) / count(v)
        lam = np.where(totals > 0, self.weight, 0.0)                         # unseen v: unigram only
        return lam * ml + (1.0 - lam) * self.unigram.probs

    def target_proba(self, X, Y) -> np.ndarray:
        """``X (N, seq_len)``, ``Y (N,)`` -> ``(N,)``: ``predict_proba(X)[range(N), Y]`` without the
        ``(N, V)`` rows."""
        prev = self._previous_words(X)
        Y = check_targets(Y, len(prev), self.vocab_size)
        totals = self.totals[prev]
        ml = np.divide(self.counts[prev, Y], totals, out=np.zeros(len(Y)), where=totals > 0)
        lam = np.where(totals > 0, self.weight, 0.0)
        return lam * ml + (1.0 - lam) * self.unigram.probs[Y]

    def _previous_words(self, X) -> np.ndarray:
        """``X[:, -1]``, checked: the model is fitted and the ids are in the vocabulary."""
        if self.counts is None:
            raise RuntimeError("BigramModel: call fit(X_train, Y_train) first")
        prev = check_ids(X)[:, -1]
        if prev.size and prev.max() >= self.vocab_size:
            raise ValueError(f"X: expected ids below vocab_size={self.vocab_size}, got {prev.max()}")
        return prev


def choose_bigram_weight(train_data, val_data, vocab_size: int, weights=None, k: float = 1.0):
    """Count the bigrams of ``train_data`` once, and score each ``weight`` on ``val_data``.

    Returns ``(best_weight, table)``; ``table`` has the validation cross-entropy and perplexity
    per weight. The test split plays no part.
    """
    weights = np.round(np.arange(0.0, 1.0, 0.05), 2) if weights is None else np.asarray(weights, float)
    model = BigramModel(vocab_size, k=k).fit(*train_data)       # the counts are the same for every weight
    rows = []
    for w in weights:
        model.weight = float(w)
        ce = float(-np.mean(np.log(model.target_proba(*val_data))))    # P(y | v) of each validation target
        rows.append({"weight": float(w), "val_cross_entropy": ce, "val_perplexity": float(np.exp(ce))})
    table = pd.DataFrame(rows)
    best = float(table.loc[table["val_cross_entropy"].idxmin(), "weight"])
    return best, table


class KneserNeyModel:
    """Interpolated Kneser-Ney: the classic strongest counting model (Chen and Goodman, 1998).

    An n-gram model of ``order`` n reads the last ``n - 1`` words of the context. At every level,
    from the full ``n - 1`` words down to none, a fixed ``discount`` D in (0, 1] is taken from every
    count seen and given to the level below, in proportion to how many different words followed::

        P_k(w | ctx_k) = max(a(ctx_k, w) - D, 0) / a(ctx_k)
                         + D * types(ctx_k) / a(ctx_k) * P_{k-1}(w | ctx_{k-1})

    where ``ctx_k`` is the last ``k`` context words, ``a(ctx_k)`` the sum over ``w`` of
    ``a(ctx_k, w)``, and ``types(ctx_k)`` how many ``w`` have ``a(ctx_k, w) > 0``. A context never
    seen in training falls through to the level below unchanged. The counts ``a``:

    - at the top level (``k = n - 1``), how often ``w`` followed ``ctx_k`` in training;
    - at the lower levels, the *continuation* count: how many different words came just before
      ``ctx_k w``. "Francisco" is frequent but follows almost only "San", so as a guess after an
      unseen context it deserves little probability; a word that follows many words deserves more;
    - at level 0 the same continuation count, interpolated with the uniform distribution over every
      id except ``<PAD>``, so that no word (not even one never seen as a target) gets probability 0.

    Each level's probabilities sum to 1, because ``D <= 1`` takes exactly ``D * types`` from the counts.
    ``<PAD>`` (id 0) fills the context before a sentence's first word, so it doubles as the
    start-of-sentence symbol: ``(<PAD>, the)`` is "the" at the start of a sentence.
    """

    def __init__(self, vocab_size: int, order: int = 3, discount: float = 0.75):
        if isinstance(order, bool) or not isinstance(order, (int, np.integer)) or order < 1:
            raise ValueError(f"order: expected an integer >= 1 (1 = unigram, 3 = trigram), got {order!r}")
        if not 0.0 < discount <= 1.0:
            raise ValueError(f"discount: expected a number in (0, 1], got {discount!r}")
        self.vocab_size, self.order, self.discount = int(vocab_size), int(order), float(discount)
        self.seq_len = max(self.order - 1, 1)       # the context it reads (predict_next needs >= 1)
        self.levels = None

    def fit(self, X, Y) -> KneserNeyModel:
        """``X (n, seq_len)`` with ``seq_len >= order - 1``, ``Y (n,)``: the training examples."""
        X = self._check_contexts(X)
        Y = check_targets(Y, len(X), self.vocab_size)
        V = self.vocab_size
        self.levels = []
        for k in range(self.order):                  # k context words: 0 (unigram) ... order - 1
            keys = _context_keys(X, k, V)            # (n,) one integer per context of k words
            if k == self.order - 1:                  # top level: plain counts
                pairs = keys * V + Y
            else:                                    # lower levels: distinct words before ctx_k w
                before = X[:, X.shape[1] - k - 1]
                pairs = np.unique(np.stack([before, keys * V + Y]), axis=1)[1]
            pair_keys, counts = np.unique(pairs, return_counts=True)
            contexts, rows = np.unique(pair_keys // V, return_inverse=True)
            table = sp.csr_matrix((counts.astype(np.float64), (rows, pair_keys % V)),
                                  shape=(len(contexts), V))
            self.levels.append({"contexts": contexts, "counts": table,
                                "totals": np.asarray(table.sum(axis=1)).ravel(),
                                "types": np.diff(table.indptr).astype(np.float64)})
        return self

    def target_proba(self, X, Y) -> np.ndarray:
        """``X (N, seq_len)``, ``Y (N,)`` -> ``(N,)``: the probability of each target, the same number
        as ``predict_proba(X)[range(N), Y]`` without building the ``(N, V)`` rows (fast enough to
        choose the discount on validation)."""
        X = self._check_ready(X)
        Y = check_targets(Y, len(X), self.vocab_size)
        V, D = self.vocab_size, self.discount
        p = np.where(Y == PAD_ID, 0.0, 1.0 / (V - 1))                       # level "-1": uniform
        for k, level in enumerate(self.levels):
            seen, r = _lookup(level["contexts"], _context_keys(X, k, V))
            count = np.asarray(level["counts"][r, Y[seen]]).ravel()         # a(ctx_k, y), 0 if never seen
            total, types = level["totals"][r], level["types"][r]
            p[seen] = (np.maximum(count - D, 0.0) + D * types * p[seen]) / total
        return p

    def predict_proba(self, X, batch_size: int = 2048) -> np.ndarray:
        """``X (N, seq_len)`` -> ``(N, V)`` float64; rows sum to 1 and ``<PAD>`` gets 0."""
        X = self._check_ready(X)
        return np.concatenate([self._proba(X[i:i + batch_size]) for i in range(0, len(X), batch_size)]
                              or [np.zeros((0, self.vocab_size))])

    def _check_ready(self, X) -> np.ndarray:
        if self.levels is None:
            raise RuntimeError("KneserNeyModel: call fit(X_train, Y_train) first")
        return self._check_contexts(X)

    def _check_contexts(self, X) -> np.ndarray:
        X = check_ids(X)
        if X.shape[1] < self.order - 1:
            raise ValueError(f"X: an order-{self.order} model reads {self.order - 1} context words, "
                             f"got contexts of {X.shape[1]}")
        if X.size and X.max() >= self.vocab_size:
            raise ValueError(f"X: expected ids below vocab_size={self.vocab_size}, got {X.max()}")
        return X

    def _proba(self, X) -> np.ndarray:
        V, D = self.vocab_size, self.discount
        uniform = np.full(V, 1.0 / (V - 1))
        uniform[PAD_ID] = 0.0
        P = np.tile(uniform, (len(X), 1))                                 # level "-1": uniform
        for k, level in enumerate(self.levels):
            keys = _context_keys(X, k, V)
            seen, r = _lookup(level["contexts"], keys)                       # contexts met in training
            counts = level["counts"][r].toarray()                         # (n_seen, V)
            total, types = level["totals"][r, None], level["types"][r, None]
            P[seen] = (np.maximum(counts - D, 0.0) + D * types * P[seen]) / total
        return P


def _context_keys(X, k: int, V: int) -> np.ndarray:
    """One int64 per row for its last ``k`` ids (``k = 0``: all zeros), as a base-``V`` number."""
    keys = np.zeros(len(X), np.int64)
    for j in range(X.shape[1] - k, X.shape[1]):
        keys = keys * V + X[:, j]
    return keys


def _lookup(sorted_keys, keys):
    """``(found (N,) bool, positions of the found keys in sorted_keys)``."""
    idx = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
    found = sorted_keys[idx] == keys
    return found, idx[found]


def _validation_cross_entropy(model, val_data) -> float:
    X, Y = val_data
    if isinstance(model, KneserNeyModel):
        return float(-np.mean(np.log(model.target_proba(X, Y))))
    return cross_entropy(model.predict_proba(X), Y)


def choose_ngram(train_data, val_data, vocab_size: int, *, orders=(2, 3, 4),
                 discounts=(0.5, 0.6, 0.7, 0.8, 0.9, 1.0)):
    """Every counting baseline fitted on ``train_data`` and scored on ``val_data``; the best one named.

    Rows: the add-one unigram; the bigram of :class:`BigramModel` with its weight chosen on validation;
    and :class:`KneserNeyModel` for each ``order`` (that the contexts allow), with its discount chosen
    on validation. Returns ``(best_model, table)``: the fitted model with the lowest validation
    cross-entropy, and one row per model (``model``, ``setting``, ``val_cross_entropy``,
    ``val_perplexity``), best first. The test split plays no part.
    """
    seq_len = check_ids(train_data[0]).shape[1]
    weight, _ = choose_bigram_weight(train_data, val_data, vocab_size)
    candidates = [("unigram (add-one)", "k=1", UnigramModel(vocab_size).fit(train_data[1])),
                  ("bigram (interpolated)", f"weight={weight:g}",
                   BigramModel(vocab_size, weight=weight).fit(*train_data))]
    for order in orders:
        if order - 1 > seq_len:
            continue
        model = KneserNeyModel(vocab_size, order=order).fit(*train_data)   # counts: the same for every D
        scores = {}
        for d in discounts:
            model.discount = float(d)
            scores[float(d)] = _validation_cross_entropy(model, val_data)
        model.discount = min(scores, key=scores.get)
        candidates.append((f"{order}-gram Kneser-Ney", f"discount={model.discount:g}", model))
    rows, models = [], {}
    for name, setting, model in candidates:
        ce = _validation_cross_entropy(model, val_data)
        rows.append({"model": name, "setting": setting, "val_cross_entropy": ce,
                     "val_perplexity": float(np.exp(ce))})
        models[name] = model
    table = pd.DataFrame(rows).sort_values("val_cross_entropy", kind="stable").reset_index(drop=True)
    return models[table["model"].iloc[0]], table
