"""Words as integers: tokenising, the vocabulary and padding (lessons 04-06, 08 and 09).

From sentences to padded id arrays::

    vocab = build_vocab(train_sentences, min_freq=2)      # {"<PAD>": 0, "<UNK>": 1, "breast": 2, ...}
    seqs = texts_to_sequences(sentences, vocab)           # list of lists of ids; unknown words -> 1
    X = pad_sequences(seqs, max_len=12)                   # (N, 12) int64, cut or padded with 0 at the end

What only the next-word lessons need (the corpus, the split by sentence, the (context, next word)
examples, ``predict_next``) lives in :mod:`course_utils.lessons.next_word`.

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

PAD, UNK = "<PAD>", "<UNK>"


PAD_ID, UNK_ID = 0, 1


# A token: letters/digits, optionally joined by single internal hyphens or apostrophes.
# [^\W_] is "a word character but not the underscore", i.e. a Unicode letter or digit.
_TOKEN = re.compile(r"[^\W_]+(?:['-][^\W_]+)*")


# Typographic apostrophes and dashes, normalised first so that copied text tokenises the same way.
_NORMALISE = str.maketrans({"\u2019": "'", "\u2018": "'", "\u2010": "-", "\u2011": "-", "\u2013": "-"})


def check_texts(texts, name: str = "texts") -> list[str]:
    """A non-empty list (or tuple) of strings; a single string is refused (it would iterate characters)."""
    if isinstance(texts, str) or not isinstance(texts, Sequence):
        raise ValueError(f"{name}: expected a list of strings (one per sentence), got {type(texts).__name__}")
    if len(texts) == 0:
        raise ValueError(f"{name}: expected at least one text, got an empty {type(texts).__name__}")
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise ValueError(f"{name}[{i}]: expected a string, got {type(t).__name__}")
    return list(texts)


def check_vocab(vocab) -> dict[str, int]:
    """``vocab`` maps words to the ids 0..V-1, with ``<PAD>`` = 0 and ``<UNK>`` = 1."""
    if not isinstance(vocab, dict):
        raise ValueError(f"vocab: expected a dict word -> id (from build_vocab), got {type(vocab).__name__}")
    if vocab.get(PAD) != PAD_ID or vocab.get(UNK) != UNK_ID:
        raise ValueError(f"vocab: expected {PAD!r} -> {PAD_ID} and {UNK!r} -> {UNK_ID}, "
                         f"got {PAD!r} -> {vocab.get(PAD)} and {UNK!r} -> {vocab.get(UNK)}")
    if sorted(vocab.values()) != list(range(len(vocab))):
        raise ValueError(f"vocab: expected the ids 0..{len(vocab) - 1}, each used once")
    return vocab


def check_positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name}: expected an integer >= 1, got {value!r}")
    return int(value)


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
    texts = check_texts(texts)
    min_freq = check_positive_int(min_freq, "min_freq")
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
    texts = check_texts(texts)
    vocab = check_vocab(vocab)
    return [[vocab.get(tok, UNK_ID) for tok in tokenize(t)] for t in texts]


def pad_sequences(sequences, max_len: int) -> np.ndarray:
    """Lists of ids -> (N, max_len) int64, cut after ``max_len`` ids and padded at the end with ``PAD_ID``.

    For classifiers that read a whole sentence (lessons 08, 09). Padding at the end: a masked LSTM reads
    the words first and then skips the padding, so its final state is the state after the last real
    word. (Next-word examples, ``create_examples`` in ``lessons.next_word.corpus``, pad on the left: the last
    position must be the word just before the one to predict.)
    """
    max_len = check_positive_int(max_len, "max_len")
    out = np.full((len(sequences), max_len), PAD_ID, dtype=np.int64)
    for row, seq in enumerate(sequences):
        seq = list(seq)[:max_len]
        out[row, : len(seq)] = seq
    return out
