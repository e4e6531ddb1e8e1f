"""Next-word prediction (lessons 04-06): the medical corpus, split by sentence,
cut into (context, next word) examples.

    sentences = load_medical_corpus()                          # list[str], one sentence each
    train, val, test = split_sentences(sentences, seed=0)      # by sentence: no sentence in two sets
    vocab = build_vocab(train, min_freq=2)                     # course_utils.text
    X, Y = create_examples(texts_to_sequences(train, vocab), seq_len=8)   # X (n, 8) int64, Y (n,) int64
    vocab, data = next_word_data(seq_len=6)                    # all of the above, as lessons 04-06 use it
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from course_utils.paths import data_dir
from course_utils.text import (
    PAD_ID,
    build_vocab,
    check_positive_int,
    check_texts,
    texts_to_sequences,
    tokenize,
)


def load_medical_corpus() -> list[str]:
    """The sentences of ``data/medical/breast_cancer_sentences.txt``, one per line (blank lines skipped).

    Written for this course; educational text, not medical advice (see ``data/medical/README.md``).
    """
    path = data_dir() / "medical" / "breast_cancer_sentences.txt"
    if not path.is_file():
        raise FileNotFoundError(f"The medical corpus is missing: expected {path}. It ships with the course "
                                "repository; run from a checkout or set $COURSE_ROOT to one.")
    sentences = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not sentences:
        raise ValueError(f"The medical corpus {path} is empty: expected one sentence per line")
    return sentences


def split_sentences(sentences, fractions=(0.8, 0.1, 0.1), seed: int = 0):
    """Split sentences into ``(train, val, test)`` lists, each sentence in exactly one of them.

    Sentences are first deduplicated by their tokens (the first occurrence is kept; sentences with
    no tokens are dropped), so one sentence written twice cannot land in both train and test. The
    rest are shuffled with ``numpy.random.default_rng(seed)``; validation and test get
    ``n * fraction`` sentences (rounded half up), train the remainder. Within each split the original
    order is kept. The same inputs and seed always give the same split.
    """
    sentences = check_texts(sentences, "sentences")
    fr = np.asarray(fractions, dtype=float)
    if fr.shape != (3,) or np.any(fr < 0) or not np.isclose(fr.sum(), 1.0):
        raise ValueError(f"fractions: expected three non-negative numbers (train, val, test) summing to 1, "
                         f"got {fractions!r}")
    seen, unique = set(), []
    for s in sentences:
        key = tuple(tokenize(s))
        if key and key not in seen:
            seen.add(key)
            unique.append(s)
    n = len(unique)
    n_val, n_test = int(n * fr[1] + 0.5), int(n * fr[2] + 0.5)     # rounded half up
    if n - n_val - n_test < 1:
        raise ValueError(f"split_sentences: {n} distinct sentence(s) leave none for training "
                         f"with fractions {fractions!r}")
    order = np.random.default_rng(seed).permutation(n)
    parts = np.split(order, [n - n_val - n_test, n - n_test])
    return tuple([unique[i] for i in np.sort(p)] for p in parts)


def create_examples(sequences, seq_len: int):
    """Next-word examples: every word after the first of each sequence is a target.

    The context of the word at position ``i`` is the ``seq_len`` ids before it, left-padded with
    ``<PAD>`` = 0 when the sentence has fewer than ``seq_len`` earlier words. The first word of a
    sentence is *not* a target: an all-padding context says nothing, so it would only teach the
    model the frequency of first words. A sequence of ``L`` ids thus gives ``L - 1`` examples.

    Returns ``X (n, seq_len)`` int64 and ``Y (n,)`` int64, ``n = sum(max(L - 1, 0))``.

    >>> X, Y = create_examples([[5, 6, 7]], seq_len=2)
    >>> X.tolist(), Y.tolist()
    ([[0, 5], [5, 6]], [6, 7])
    """
    seq_len = check_positive_int(seq_len, "seq_len")
    if isinstance(sequences, (str, np.ndarray)) or not isinstance(sequences, Sequence) or len(sequences) == 0:
        raise ValueError("create_examples: expected a non-empty list of id sequences "
                         f"(from texts_to_sequences), got {type(sequences).__name__} {sequences!r:.60}")
    X_parts, Y_parts = [], []
    for i, seq in enumerate(sequences):
        seq = np.asarray(seq)
        if seq.ndim != 1 or (seq.size and seq.dtype.kind not in "iu"):
            raise ValueError(f"sequences[{i}]: expected a 1-D list of integer ids, "
                             f"got shape {seq.shape} and dtype {seq.dtype}")
        if seq.size and seq.min() < 0:
            raise ValueError(f"sequences[{i}]: expected ids >= 0, got {seq.min()}")
        if len(seq) < 2:
            continue                                                      # nothing to predict
        padded = np.concatenate([np.full(seq_len, PAD_ID, np.int64), seq.astype(np.int64)])
        # Window j covers padded[j : j + seq_len], i.e. the seq_len ids before seq[j].
        windows = np.lib.stride_tricks.sliding_window_view(padded, seq_len)
        X_parts.append(windows[1:len(seq)])
        Y_parts.append(seq[1:].astype(np.int64))
    if not X_parts:
        raise ValueError(f"create_examples: no examples: all {len(sequences)} sequence(s) "
                         "have fewer than 2 ids")
    return np.concatenate(X_parts), np.concatenate(Y_parts)


def check_ids(X, seq_len: int | None = None, name: str = "X") -> np.ndarray:
    """Contexts of word ids ``(N, seq_len)`` int (``seq_len`` checked when given), else ``ValueError``."""
    X = np.asarray(X)
    if X.ndim != 2 or X.dtype.kind not in "iu":
        raise ValueError(f"{name}: expected integer ids of shape (N, seq_len), got shape {X.shape} "
                         f"and dtype {X.dtype}")
    if seq_len is not None and X.shape[1] != seq_len:
        raise ValueError(f"{name}: expected shape (N, {seq_len}) (seq_len={seq_len}), got {X.shape}")
    return X


def next_word_data(seq_len: int, *, min_freq: int = 2, split_seed: int = 0, fractions=(0.8, 0.1, 0.1)):
    """The medical corpus as next-word examples, the way lessons 04-06 use it.

    Splits the sentences with ``split_sentences(..., fractions, seed=split_seed)``, builds the
    vocabulary on the training sentences with ``min_freq`` (rarer words become ``<UNK>``), and
    returns ``(vocab, {"train": (X, Y), "val": (X, Y), "test": (X, Y)})`` with ``X (n, seq_len)``
    and ``Y (n,)`` int64 from ``create_examples``. The targets do not depend on ``seq_len`` (every
    word after the first of a sentence), so models with different contexts face the same targets.
    """
    parts = split_sentences(load_medical_corpus(), tuple(fractions), seed=split_seed)
    vocab = build_vocab(parts[0], min_freq=min_freq)
    data = {name: create_examples(texts_to_sequences(part, vocab), seq_len)
            for name, part in zip(("train", "val", "test"), parts)}
    return vocab, data
