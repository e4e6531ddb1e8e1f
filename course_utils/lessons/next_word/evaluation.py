"""Next-word prediction (lessons 04-06): scoring every model on the same targets,
and the next word for a prefix.

    next_word_metrics(model.predict_proba(X_test), Y_test)   # top1, top5, perplexity (all and known targets)
    predict_next(model, vocab, ["breast", "cancer"])         # the five likeliest next words
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from course_utils.metrics import check_scores, cross_entropy, top_k_accuracy
from course_utils.text import PAD_ID, UNK_ID, check_positive_int, check_vocab, tokenize


def next_word_metrics(probs, targets, unk_id: int = UNK_ID) -> dict:
    """Top-1, top-5 accuracy and perplexity over all targets, and again over the known ones.

    ``known_*`` leaves out the rows whose target is ``<UNK>`` (a rare or unseen word) and keeps the
    model's probabilities as they are (a model that guesses ``<UNK>`` is wrong on those rows).
    """
    probs, targets = check_scores(probs, targets)
    known = targets != unk_id
    out = {"n": len(targets), "unk_share": float(np.mean(~known))}
    for prefix, rows in (("", slice(None)), ("known_", known)):
        p, t = probs[rows], targets[rows]
        out[f"{prefix}top1"] = top_k_accuracy(p, t, 1)
        out[f"{prefix}top5"] = top_k_accuracy(p, t, 5)
        out[f"{prefix}cross_entropy"] = cross_entropy(p, t)
        out[f"{prefix}perplexity"] = float(np.exp(out[f"{prefix}cross_entropy"]))
    return out


def predict_next(model, vocab, prefix_words, top_k: int = 5, *, seq_len: int | None = None):
    """The ``top_k`` most probable next words after ``prefix_words``, as ``[(word, probability), ...]``.

    The model protocol (every model of lessons 04-06 follows it):

    - ``model.predict_proba(X)`` takes ids ``X (N, seq_len)`` int64 and returns probabilities ``(N, V)``
      with ``V = len(vocab)`` (softmax already applied: rows are non-negative and sum to 1);
      or ``model`` is itself such a callable (e.g. a small wrapper around a PyTorch module);
    - the context length is ``model.seq_len``, or the ``seq_len`` argument (needed for a plain callable).

    ``prefix_words`` is a list of words or one string; either way it is tokenised like the corpus.
    Words not in ``vocab`` become ``<UNK>`` (never ``<PAD>``), a prefix longer than ``seq_len`` keeps
    its last ``seq_len`` words, a shorter one is left-padded, as in ``create_examples``.
    ``<PAD>`` and ``<UNK>`` are never suggested: their probabilities are set to zero and the rest
    renormalised to sum to 1. Ties are broken by the lower id (the more frequent word).
    Fewer than ``top_k`` pairs are returned when the vocabulary has fewer real words.
    """
    vocab = check_vocab(vocab)
    top_k = check_positive_int(top_k, "top_k")
    words = [prefix_words] if isinstance(prefix_words, str) else prefix_words
    if not isinstance(words, Sequence):
        raise ValueError(f"prefix_words: expected a list of words or a string, got {type(words).__name__}")
    for i, w in enumerate(words):
        if not isinstance(w, str):
            raise ValueError(f"prefix_words[{i}]: expected a string, got {type(w).__name__}")
    tokens = [tok for w in words for tok in tokenize(w)]
    if not tokens:
        raise ValueError(f"prefix_words: expected at least one word, got {prefix_words!r}")

    if seq_len is None:
        seq_len = getattr(model, "seq_len", None)
        if seq_len is None:
            raise ValueError("predict_next: the model has no seq_len attribute; pass seq_len=...")
    seq_len = check_positive_int(seq_len, "seq_len")
    predict = getattr(model, "predict_proba", None)
    if predict is None:
        if not callable(model):
            raise ValueError(f"predict_next: expected a model with predict_proba(X) or a callable, "
                             f"got {type(model).__name__}")
        predict = model

    ids = [vocab.get(tok, UNK_ID) for tok in tokens][-seq_len:]
    X = np.full((1, seq_len), PAD_ID, np.int64)
    X[0, seq_len - len(ids):] = ids
    probs = np.array(predict(X), dtype=np.float64)                # a copy: we edit it below
    V = len(vocab)
    if probs.shape != (1, V):
        raise ValueError(f"predict_next: expected probabilities of shape (1, {V}) (1 context, len(vocab)), "
                         f"got {probs.shape}")
    if not np.all(np.isfinite(probs)) or probs.min() < 0 or not np.isclose(probs.sum(), 1.0, atol=1e-4):
        raise ValueError("predict_next: expected probabilities (non-negative, summing to 1), got values "
                         f"from {probs.min():.3g} to {probs.max():.3g} summing to {probs.sum():.4g}; "
                         "did the model return logits instead of softmax outputs?")
    p = probs[0]
    p[[PAD_ID, UNK_ID]] = 0.0
    total = p.sum()
    if total <= 0:
        raise ValueError("predict_next: the model gives all its probability to <PAD> and <UNK>")
    p /= total
    id_to_word = {i: w for w, i in vocab.items()}
    order = np.argsort(-p, kind="stable")[:min(top_k, V - 2)]    # stable: equal probabilities by id
    return [(id_to_word[int(i)], float(p[i])) for i in order]
