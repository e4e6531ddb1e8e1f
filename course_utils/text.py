"""Text preprocessing for the next-word lessons (04, 05, 06).

From raw sentences to training arrays, in four steps::

    sentences = load_medical_corpus()                          # list[str], one sentence each
    train, val, test = split_sentences(sentences, seed=0)      # by sentence: no sentence in two sets
    vocab = build_vocab(train, min_freq=1)                     # {"<PAD>": 0, "<UNK>": 1, "breast": 2, ...}
    X, Y = create_examples(texts_to_sequences(train, vocab), seq_len=8)   # X (n, 8) int64, Y (n,) int64

and back from a trained model to words with ``predict_next(model, vocab, ["breast", "cancer"])``.

Tokenisation (``tokenize``): lower case, then keep runs of letters and digits, joined by *internal*
hyphens or apostrophes (``"HER2-positive"`` -> ``"her2-positive"``, ``"patient's"`` -> ``"patient's"``);
everything else, punctuation included, separates tokens and is dropped (``"3.5"`` -> ``"3", "5"``,
``"CDK4/6"`` -> ``"cdk4", "6"``). Curly apostrophes count as ``'``; Unicode hyphens and the en dash as ``-``.
There are no start or end-of-sentence tokens: each sentence is its own sequence.

Special ids: ``<PAD>`` = 0 fills the left of short contexts, ``<UNK>`` = 1 stands for any word that
is not in the vocabulary. They differ on purpose: an unknown word is a real word the model should
see, padding is "no word at all" (mapping unknown words to padding was a bug of the public versions).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

import numpy as np

from .paths import data_dir

PAD, UNK = "<PAD>", "<UNK>"
PAD_ID, UNK_ID = 0, 1

# A token: letters/digits, optionally joined by single internal hyphens or apostrophes.
# [^\W_] is "a word character but not the underscore", i.e. a Unicode letter or digit.
_TOKEN = re.compile(r"[^\W_]+(?:['-][^\W_]+)*")
# Typographic apostrophes and dashes, normalised first so that copied text tokenises the same way.
_NORMALISE = str.maketrans({"\u2019": "'", "\u2018": "'", "\u2010": "-", "\u2011": "-", "\u2013": "-"})


# ---------------------------------------------------------------- checks (clear errors, named inputs)

def _check_texts(texts, name: str = "texts") -> list[str]:
    """A non-empty list (or tuple) of strings; a single string is refused (it would iterate characters)."""
    if isinstance(texts, str) or not isinstance(texts, Sequence):
        raise ValueError(f"{name}: expected a list of strings (one per sentence), got {type(texts).__name__}")
    if len(texts) == 0:
        raise ValueError(f"{name}: expected at least one text, got an empty {type(texts).__name__}")
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise ValueError(f"{name}[{i}]: expected a string, got {type(t).__name__}")
    return list(texts)


def _check_vocab(vocab) -> dict[str, int]:
    """``vocab`` maps words to the ids 0..V-1, with ``<PAD>`` = 0 and ``<UNK>`` = 1."""
    if not isinstance(vocab, dict):
        raise ValueError(f"vocab: expected a dict word -> id (from build_vocab), got {type(vocab).__name__}")
    if vocab.get(PAD) != PAD_ID or vocab.get(UNK) != UNK_ID:
        raise ValueError(f"vocab: expected {PAD!r} -> {PAD_ID} and {UNK!r} -> {UNK_ID}, "
                         f"got {PAD!r} -> {vocab.get(PAD)} and {UNK!r} -> {vocab.get(UNK)}")
    if sorted(vocab.values()) != list(range(len(vocab))):
        raise ValueError(f"vocab: expected the ids 0..{len(vocab) - 1}, each used once")
    return vocab


def _check_positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name}: expected an integer >= 1, got {value!r}")
    return int(value)


# ---------------------------------------------------------------- text -> tokens -> ids

def tokenize(text: str) -> list[str]:
    """Split one text into lower-case tokens (rules in the module docstring).

    >>> tokenize("HER2-positive tumours, the patient's 3.5 cm lump!")
    ['her2-positive', 'tumours', 'the', "patient's", '3', '5', 'cm', 'lump']
    """
    if not isinstance(text, str):
        raise ValueError(f"tokenize: expected a string, got {type(text).__name__}")
    return _TOKEN.findall(text.translate(_NORMALISE).lower())


def build_vocab(texts, min_freq: int = 1) -> dict[str, int]:
    """Word -> id for the words seen at least ``min_freq`` times in ``texts``.

    Ids: ``<PAD>`` = 0, ``<UNK>`` = 1, then the words by descending count, ties broken
    alphabetically, so the same texts always give the same ids (Python's hash order does not).
    Build it on the training split only: words seen only in validation or test become ``<UNK>``.
    """
    texts = _check_texts(texts)
    min_freq = _check_positive_int(min_freq, "min_freq")
    counts = Counter(tok for t in texts for tok in tokenize(t))
    words = sorted((w for w, c in counts.items() if c >= min_freq), key=lambda w: (-counts[w], w))
    if not words:
        raise ValueError(f"build_vocab: no word occurs at least min_freq={min_freq} times "
                         f"in {len(texts)} text(s)")
    vocab = {PAD: PAD_ID, UNK: UNK_ID}
    for w in words:
        vocab[w] = len(vocab)
    return vocab


def texts_to_sequences(texts, vocab) -> list[list[int]]:
    """One list of ids per text (lengths differ); words not in ``vocab`` become ``<UNK>`` = 1."""
    texts = _check_texts(texts)
    vocab = _check_vocab(vocab)
    return [[vocab.get(tok, UNK_ID) for tok in tokenize(t)] for t in texts]


def pad_sequences(sequences, max_len: int) -> np.ndarray:
    """Lists of ids -> (N, max_len) int64, cut after ``max_len`` ids and padded at the end with ``PAD_ID``.

    For classifiers that read a whole sentence (lessons 08, 09). Padding at the end: a masked LSTM reads
    the words first and then skips the padding, so its final state is the state after the last real
    word. (Next-word examples, :func:`create_examples`, pad on the left instead: there the last
    position must be the word just before the one to predict.)
    """
    max_len = _check_positive_int(max_len, "max_len")
    out = np.full((len(sequences), max_len), PAD_ID, dtype=np.int64)
    for row, seq in enumerate(sequences):
        seq = list(seq)[:max_len]
        out[row, : len(seq)] = seq
    return out


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
    seq_len = _check_positive_int(seq_len, "seq_len")
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


# ---------------------------------------------------------------- the split

def split_sentences(sentences, fractions=(0.8, 0.1, 0.1), seed: int = 0):
    """Split sentences into ``(train, val, test)`` lists, each sentence in exactly one of them.

    Sentences are first deduplicated by their tokens (the first occurrence is kept; sentences with
    no tokens are dropped), so one sentence written twice cannot land in both train and test. The
    rest are shuffled with ``numpy.random.default_rng(seed)``; validation and test get
    ``n * fraction`` sentences (rounded half up), train the remainder. Within each split the original
    order is kept. The same inputs and seed always give the same split.
    """
    sentences = _check_texts(sentences, "sentences")
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


# ---------------------------------------------------------------- using a trained model

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
    vocab = _check_vocab(vocab)
    top_k = _check_positive_int(top_k, "top_k")
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
    seq_len = _check_positive_int(seq_len, "seq_len")
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


# ---------------------------------------------------------------- the course's corpus

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
