"""course_utils.lessons.characters: the character dictionary, encode/decode, TBPTT stream batches,
temperature sampling."""

from itertools import pairwise

import numpy as np
import pytest

from course_utils.lessons.characters import (
    apply_temperature,
    build_char_vocab,
    decode,
    encode,
    sample_from_logits,
    stream_batches,
)

TEXT = "It was the best of times,\nit was the worst of times, “é”!"


# --------------------------------------------------------------------------- dictionary, encode, decode


def test_vocab_is_sorted_unique_and_consistent():
    char_to_ix, ix_to_char = build_char_vocab("banana")
    assert ix_to_char == ["a", "b", "n"]
    assert char_to_ix == {"a": 0, "b": 1, "n": 2}
    char_to_ix, ix_to_char = build_char_vocab(TEXT)
    assert len(ix_to_char) == len(set(TEXT)) == len(char_to_ix)
    assert all(ix_to_char[i] == ch for ch, i in char_to_ix.items())
    # Same characters in another order: same dictionary
    assert build_char_vocab(TEXT[::-1]) == (char_to_ix, ix_to_char)


def test_encode_decode_round_trip_keeps_case_punctuation_and_unicode():
    char_to_ix, ix_to_char = build_char_vocab(TEXT)
    ids = encode(TEXT, char_to_ix)
    assert ids.shape == (len(TEXT),) and ids.dtype == np.int64
    assert decode(ids, ix_to_char) == TEXT
    assert decode(ids.astype(np.int32), ix_to_char) == TEXT  # any integer dtype
    assert decode(list(ids[:2]), ix_to_char) == TEXT[:2]     # or a list
    assert ids[0] == char_to_ix["I"] != char_to_ix["i"]     # case is kept
    assert encode("", char_to_ix).shape == (0,) and decode([], ix_to_char) == ""


def test_encode_names_unknown_characters():
    char_to_ix, _ = build_char_vocab("abc")
    with pytest.raises(ValueError, match=r"2 character\(s\) not in the dictionary: "
                                         r"'z' \(3x, first at 1\), 'Q'"):
        encode("azzzQ", char_to_ix)
    with pytest.raises(ValueError, match="expected a str, got bytes"):
        encode(b"abc", char_to_ix)
    with pytest.raises(ValueError, match="dictionary char_to_ix is empty"):
        encode("a", {})


def test_build_vocab_rejects_empty_text_and_non_strings():
    with pytest.raises(ValueError, match="the text is empty"):
        build_char_vocab("")
    with pytest.raises(ValueError, match="expected a str, got list"):
        build_char_vocab(["a", "b"])


def test_decode_rejects_bad_ids():
    _, ix_to_char = build_char_vocab("abc")
    with pytest.raises(ValueError, match=r"ids must be in \[0, 3\), got values from 0 to 3"):
        decode([0, 3], ix_to_char)
    with pytest.raises(ValueError, match=r"got values from -1"):
        decode([-1, 2], ix_to_char)
    with pytest.raises(ValueError, match="expected integer ids, got dtype float64"):
        decode(np.array([0.0, 1.0]), ix_to_char)
    with pytest.raises(ValueError, match=r"1-D array of ids \(L,\), got shape \(1, 2\)"):
        decode(np.array([[0, 1]]), ix_to_char)


# --------------------------------------------------------------------------- stream batches


def test_stream_batches_layout_and_targets():
    ids = np.arange(23)                       # L = 23: 22 targets, 3 streams of 7 steps, 1 target left out
    batches = stream_batches(ids, n_streams=3, seq_len=3)
    assert [x.shape for x, _ in batches] == [(3, 3), (3, 3), (3, 1)]   # the last chunk is shorter
    x = np.concatenate([b[0] for b in batches], axis=1)
    y = np.concatenate([b[1] for b in batches], axis=1)
    np.testing.assert_array_equal(x, [[0, 1, 2, 3, 4, 5, 6],
                                      [7, 8, 9, 10, 11, 12, 13],
                                      [14, 15, 16, 17, 18, 19, 20]])
    np.testing.assert_array_equal(y, x + 1)   # every target is the next id
    # Row b of chunk k + 1 continues row b of chunk k: the carried LSTM state is the right one
    for (x0, _), (x1, _) in pairwise(batches):
        np.testing.assert_array_equal(x1[:, 0], x0[:, -1] + 1)


def test_stream_batches_cover_every_target_but_fewer_than_n_streams():
    rng = np.random.default_rng(0)
    for L, n, T in [(101, 4, 7), (100, 4, 7), (1000, 64, 50), (9, 8, 1), (50, 1, 64)]:
        ids = rng.integers(0, 5, L)
        batches = stream_batches(ids, n, T)
        counted = sum(y.size for _, y in batches)
        assert counted == n * ((L - 1) // n)
        assert 0 <= (L - 1) - counted < n
        assert all(x.shape == y.shape and x.shape[0] == n and 1 <= x.shape[1] <= T for x, y in batches)
        assert all(x.dtype == ids.dtype for x, _ in batches)


def test_stream_batches_rejects_bad_input():
    ids = np.arange(10)
    with pytest.raises(ValueError, match="too few for 10 streams"):
        stream_batches(ids, n_streams=10, seq_len=2)
    with pytest.raises(ValueError, match="n_streams must be a positive integer, got 0"):
        stream_batches(ids, n_streams=0, seq_len=2)
    with pytest.raises(ValueError, match="seq_len must be a positive integer, got 2.5"):
        stream_batches(ids, n_streams=2, seq_len=2.5)
    with pytest.raises(ValueError, match="expected integer ids, got dtype float64"):
        stream_batches(ids.astype(float), n_streams=2, seq_len=2)
    with pytest.raises(ValueError, match=r"1-D array of ids \(L,\), got shape \(2, 5\)"):
        stream_batches(ids.reshape(2, 5), n_streams=2, seq_len=2)


# --------------------------------------------------------------------------- temperature and sampling


def test_temperature_one_is_softmax_and_others_sharpen_or_flatten():
    logits = np.array([[2.0, 1.0, 0.0, -1.0]])
    p1 = apply_temperature(logits, 1.0)
    np.testing.assert_allclose(p1, np.exp(logits) / np.exp(logits).sum(), rtol=1e-12)
    cold, hot = apply_temperature(logits, 0.5), apply_temperature(logits, 2.0)
    for p in (cold, hot):
        np.testing.assert_allclose(p.sum(axis=-1), 1.0, rtol=1e-12)
    assert cold[0, 0] > p1[0, 0] > hot[0, 0] > 0.25      # the favourite gains when cold, loses when hot
    # T = 0.5 doubles the logits
    np.testing.assert_allclose(cold, apply_temperature(2 * logits, 1.0), rtol=1e-12)
    assert np.isfinite(apply_temperature([[1000.0, -1000.0]], 0.01)).all()             # stable
    for bad in (0, -1.0, np.inf, np.nan):
        with pytest.raises(ValueError, match="temperature must be a positive finite number"):
            apply_temperature(logits, bad)
    with pytest.raises(ValueError, match="NaN or infinite"):
        apply_temperature([[0.0, np.nan]], 1.0)


def test_sampling_matches_the_tempered_probabilities():
    logits = np.log(np.array([[0.5, 0.3, 0.2, 0.0 + 1e-300]]))
    rng = np.random.default_rng(0)
    n = 40_000
    ids = sample_from_logits(np.repeat(logits, n, axis=0), temperature=1.0, rng=rng)
    assert ids.shape == (n,) and ids.dtype == np.int64
    freq = np.bincount(ids, minlength=4) / n
    np.testing.assert_allclose(freq, [0.5, 0.3, 0.2, 0.0], atol=0.01)   # 4 standard errors is about 0.01
    cold = np.bincount(sample_from_logits(np.repeat(logits, n, axis=0), 0.5, rng), minlength=4) / n
    expected = apply_temperature(logits, 0.5)[0]                         # 0.25, 0.09, 0.04 over 0.38
    np.testing.assert_allclose(cold, expected, atol=0.01)


def test_sampling_rows_are_independent_and_seeded():
    logits = np.array([[10.0, 0.0, 0.0], [0.0, 0.0, 10.0]])    # row 0 almost surely 0, row 1 almost surely 2
    np.testing.assert_array_equal(sample_from_logits(logits, 1.0, np.random.default_rng(1)), [0, 2])
    wide = np.random.default_rng(5).standard_normal((50, 7))
    a = sample_from_logits(wide, 1.5, np.random.default_rng(3))
    b = sample_from_logits(wide, 1.5, np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)
    assert a.min() >= 0 and a.max() < 7
    with pytest.raises(ValueError, match=r"expected logits of shape \(N, V\), got \(7,\)"):
        sample_from_logits(wide[0], 1.0)
