"""Characters as integers, for character-level language models (lesson 02).

    char_to_ix, ix_to_char = build_vocab(text)      # the character dictionary
    ids = encode(text, char_to_ix)                  # (L,) int64
    assert decode(ids, ix_to_char) == text          # the round trip
    for x, y in stream_batches(ids, n_streams=64, seq_len=50):
        ...                                         # x, y (64, <=50); y is x shifted by one character
    ix = sample_from_logits(logits, temperature=0.8, rng=rng)   # (N, V) -> (N,)

Batches for truncated backpropagation through time (TBPTT): the text is cut into ``n_streams``
contiguous pieces that are read side by side, ``seq_len`` characters at a time. Row ``b`` of
one batch continues exactly where row ``b`` of the previous batch stopped, so the LSTM's final
state of one batch is the right initial state for the next.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from course_utils.seeding import get_rng


def build_char_vocab(text: str) -> tuple[dict[str, int], list[str]]:
    """The character dictionary of ``text``: ``(char_to_ix, ix_to_char)``.

    Every distinct character gets an id in ``[0, V)``, in sorted (code point) order, so the
    same set of characters always gives the same ids. ``ix_to_char[char_to_ix[ch]] == ch``.
    """
    if not isinstance(text, str):
        raise ValueError(f"build_char_vocab: expected a str, got {type(text).__name__}")  # noqa: TRY004
    if not text:
        raise ValueError("build_char_vocab: the text is empty, so there are no characters to number")
    ix_to_char = sorted(set(text))
    char_to_ix = {ch: i for i, ch in enumerate(ix_to_char)}
    return char_to_ix, ix_to_char


def encode(text: str, char_to_ix: dict[str, int]) -> np.ndarray:
    """``text`` (length L) -> ids ``(L,)`` int64.

    A character missing from the dictionary raises a ``ValueError`` that names it (with its count
    and first position) instead of being dropped or mapped silently to some other id.
    """
    if not isinstance(text, str):
        raise ValueError(f"encode: expected a str, got {type(text).__name__}")  # noqa: TRY004
    if not char_to_ix:
        raise ValueError("encode: the dictionary char_to_ix is empty")
    try:
        return np.fromiter((char_to_ix[ch] for ch in text), dtype=np.int64, count=len(text))
    except KeyError:
        pass
    unknown = Counter(ch for ch in text if ch not in char_to_ix)
    listed = ", ".join(f"{ch!r} ({n}x, first at {text.index(ch)})" for ch, n in unknown.most_common(5))
    more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
    raise ValueError(f"encode: {len(unknown)} character(s) not in the dictionary: {listed}{more}")


def decode(ids, ix_to_char) -> str:
    """Ids ``(L,)`` (any integer dtype, or a list) -> the text of length L."""
    ids = np.asarray(ids)
    if ids.size and ids.dtype.kind not in "iu":
        raise ValueError(f"decode: expected integer ids, got dtype {ids.dtype}")
    if ids.ndim != 1:
        raise ValueError(f"decode: expected a 1-D array of ids (L,), got shape {ids.shape}")
    V = len(ix_to_char)
    if ids.size and (ids.min() < 0 or ids.max() >= V):
        raise ValueError(f"decode: ids must be in [0, {V}), got values from {ids.min()} to {ids.max()}")
    return "".join(ix_to_char[i] for i in ids.tolist())


def stream_batches(ids, n_streams: int, seq_len: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Cut ``ids (L,)`` into ``n_streams`` parallel streams and those into chunks of ``seq_len`` steps.

    Returns a list of ``(x, y)`` pairs, each ``(n_streams, T)`` int64 with ``T = seq_len`` (the last
    chunk may be shorter); ``y`` is the character that follows ``x``: ``y[b, t]`` is the target of
    ``x[b, t]``.

    Stream ``b`` holds ``ids[b * S : (b + 1) * S + 1]`` with ``S = (L - 1) // n_streams`` steps, so
    consecutive chunks continue each row exactly: carry the LSTM state from one chunk to the next.
    The last ``(L - 1) - n_streams * S`` targets (fewer than ``n_streams``) fit no stream and are left out.
    """
    ids = np.asarray(ids)
    if ids.dtype.kind not in "iu":
        raise ValueError(f"stream_batches: expected integer ids, got dtype {ids.dtype}")
    if ids.ndim != 1:
        raise ValueError(f"stream_batches: expected a 1-D array of ids (L,), got shape {ids.shape}")
    for name, value in (("n_streams", n_streams), ("seq_len", seq_len)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
            raise ValueError(f"stream_batches: {name} must be a positive integer, got {value!r}")
    steps = (len(ids) - 1) // n_streams
    if steps < 1:
        raise ValueError(f"stream_batches: {len(ids)} ids are too few for {n_streams} streams "
                         f"(each stream needs at least 2 ids: an input and its target)")
    x = ids[: n_streams * steps].reshape(n_streams, steps)
    y = ids[1 : n_streams * steps + 1].reshape(n_streams, steps)
    return [(x[:, t : t + seq_len], y[:, t : t + seq_len]) for t in range(0, steps, seq_len)]


def apply_temperature(logits, temperature: float) -> np.ndarray:
    """``softmax(logits / temperature)`` over the last axis: ``(..., V) -> (..., V)`` probabilities (float64).

    ``temperature < 1`` sharpens the distribution (safer, more repetitive text), ``> 1`` flattens
    it (more surprising, more misspelt text), ``1`` leaves the model's own probabilities.
    """
    t = float(temperature)
    if not (np.isfinite(t) and t > 0):
        raise ValueError(f"temperature must be a positive finite number, got {temperature!r}")
    z = np.asarray(logits, dtype=np.float64)
    if z.ndim < 1 or z.shape[-1] < 1:
        raise ValueError(f"apply_temperature: expected logits of shape (..., V), got {z.shape}")
    if not np.all(np.isfinite(z)):
        raise ValueError("apply_temperature: the logits contain NaN or infinite values")
    z = z / t
    z -= z.max(axis=-1, keepdims=True)
    p = np.exp(z)
    return p / p.sum(axis=-1, keepdims=True)


def sample_from_logits(logits, temperature: float = 1.0, rng=None) -> np.ndarray:
    """Draw one id per row: ``logits (N, V) -> ids (N,)`` int64,
    from ``apply_temperature(logits, temperature)``.

    ``rng`` is a ``numpy.random.Generator`` (the course generator by default), so samples repeat under a seed.
    """


    logits = np.asarray(logits)
    if logits.ndim != 2:
        raise ValueError(f"sample_from_logits: expected logits of shape (N, V), got {logits.shape}")
    p = apply_temperature(logits, temperature)
    u = get_rng(rng).random((p.shape[0], 1))
    # Inverse-CDF sampling, one row at a time without a Python loop: the first id whose
    # cumulative probability exceeds u (clipped, in case rounding leaves the total just below 1).
    ids = (p.cumsum(axis=-1) < u).sum(axis=-1)
    return np.minimum(ids, p.shape[-1] - 1).astype(np.int64)
