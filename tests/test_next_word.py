"""Tests of course_utils.lessons.next_word: the two models (gradients, probabilities, determinism), the
baselines and metrics (expected values written out by hand), training, and the weight file."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import GRADCHECK_REPORT

from course_utils import Adam, check_model_gradients, softmax, softmax_cross_entropy
from course_utils.lessons.next_word.corpus import create_examples, load_medical_corpus, split_sentences
from course_utils.lessons.next_word.evaluation import next_word_metrics, predict_next
from course_utils.lessons.next_word.models import (
    CNNLSTMNextWord,
    CNNNextWord,
    float64_copy,
    load_model,
    save_model,
)
from course_utils.lessons.next_word.ngrams import (
    BigramModel,
    KneserNeyModel,
    UnigramModel,
    choose_bigram_weight,
    choose_ngram,
)
from course_utils.lessons.next_word.training import decay_by_key, fit_next_word, train_cnn, train_cnn_lstm
from course_utils.metrics import (
    accuracy,
    cross_entropy,
    perplexity,
    target_rank,
    top5_accuracy,
    top_k_accuracy,
)
from course_utils.paths import data_dir
from course_utils.text import build_vocab, texts_to_sequences

F64 = np.float64
TOL = 1e-7


def tiny_examples(rng, V=13, T=6, N=5):
    """Random contexts with left padding (id 0) in some rows, and random targets (never <PAD>)."""
    X = rng.integers(1, V, (N, T))
    X[0, :3] = 0
    X[1, :1] = 0
    return X, rng.integers(1, V, N)


# ---------------------------------------------------------------- gradients of the whole models

def make_models(rng, dtype=F64):
    return {
        "CNN": CNNNextWord(13, 6, embed_dim=4, filters=5, kernel_size=3, rng=rng, dtype=dtype),
        "CNN+LSTM last": CNNLSTMNextWord(13, 6, embed_dim=4, filters=5, kernel_size=2, hidden_size=3,
                                         head="last", dropout=0.5, rng=rng, dtype=dtype),
        "CNN+LSTM max": CNNLSTMNextWord(13, 6, embed_dim=4, filters=5, kernel_size=2, hidden_size=3,
                                        head="max", rng=rng, dtype=dtype),
        "CNN positions": CNNNextWord(13, 6, embed_dim=4, filters=5, kernel_size=3, positions=True,
                                     embed_dropout=0.3, dropout=0.3, rng=rng, dtype=dtype),
        "CNN+LSTM embed dropout": CNNLSTMNextWord(13, 6, embed_dim=4, filters=5, kernel_size=3, hidden_size=3,
                                                  embed_dropout=0.3, dropout=0.3, rng=rng, dtype=dtype),
    }


ALL = ["CNN", "CNN+LSTM last", "CNN+LSTM max", "CNN positions", "CNN+LSTM embed dropout"]


@pytest.mark.parametrize("name", ALL)
def test_whole_model_gradients(rng, name):
    X, Y = tiny_examples(rng)
    model = make_models(rng)[name]
    errors = check_model_gradients(model, softmax_cross_entropy, X, Y)
    for key, err in errors.items():
        GRADCHECK_REPORT[f"next_word {name} d{key}"] = err
    assert set(errors) == set(model.params)                  # every parameter, the embeddings included
    assert max(errors.values()) < TOL, errors
    # The gradient reaches the embedding rows of the ids in the batch, and only those. (Max pooling
    # can leave a word with no gradient at all, when it won no maximum: so "every" only without it.)
    dW = model.grads["0.W"]
    used = np.unique(X)
    reached = np.abs(dW[used]).sum(axis=1) > 0
    assert reached.all() if name.startswith("CNN+LSTM") and "max" not in name else reached.any()
    assert not np.any(dW[np.setdiff1d(np.arange(13), used)])


def test_position_channels_let_the_cnn_tell_where_a_word_was(rng):
    # The same three words in two orders: without positions max pooling cannot tell them apart
    # when the kernel sees one word at a time; with positions it can.
    X = np.array([[2, 3, 4], [4, 3, 2]])
    for positions, same in ((False, True), (True, False)):
        model = CNNNextWord(6, 3, embed_dim=4, filters=8, kernel_size=1, positions=positions,
                            rng=np.random.default_rng(0), dtype=F64)
        logits = model.forward(X, training=False)
        assert np.allclose(logits[0], logits[1]) == same
    model = CNNNextWord(6, 3, embed_dim=4, filters=8, kernel_size=2, positions=True, rng=rng)
    assert model.params[model.param_names["conv.W"]].shape == (2, 4 + 3, 8)    # E + T input channels
    with pytest.raises(ValueError, match="positions"):
        CNNNextWord(6, 3, positions="yes")


def test_float64_copy_has_the_same_outputs(rng):
    model = make_models(rng, dtype=np.float32)["CNN+LSTM last"]
    copy = float64_copy(model)
    X, _ = tiny_examples(rng)
    assert all(p.dtype == F64 for p in copy.params.values())
    np.testing.assert_allclose(copy.forward(X, training=False), model.forward(X, training=False), rtol=1e-5,
                               atol=1e-6)


# ---------------------------------------------------------------- probabilities: one softmax, at the end

@pytest.mark.parametrize("name", ["CNN", "CNN+LSTM last", "CNN+LSTM max"])
def test_predict_proba_is_softmax_of_the_logits(rng, name):
    model = make_models(rng, dtype=np.float32)[name]
    X, _ = tiny_examples(rng, N=7)
    probs = model.predict_proba(X)
    logits = model.forward(X, training=False)
    assert probs.shape == (7, 13) and probs.dtype == F64
    assert np.all(probs > 0)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(probs, softmax(logits.astype(F64)), rtol=1e-10)
    assert not np.allclose(logits.sum(axis=1), 1.0)          # forward gives logits, not probabilities
    np.testing.assert_array_equal(model.predict_proba(X, batch_size=3), probs)   # batching changes nothing


def test_models_work_with_predict_next(rng):
    vocab = build_vocab(["a b c d e f g h i j k"])           # 13 ids with <PAD>, <UNK>
    for model in make_models(rng, dtype=np.float32).values():
        pairs = predict_next(model, vocab, ["a", "zebra", "c"], top_k=3)
        assert len(pairs) == 3 and all(w not in ("<PAD>", "<UNK>") for w, _ in pairs)
        assert pairs[0][1] >= pairs[1][1] >= pairs[2][1]


def test_bad_inputs(rng):
    model = make_models(rng, dtype=np.float32)["CNN"]
    with pytest.raises(ValueError, match=r"expected shape \(N, 6\)"):
        model.forward(np.zeros((2, 5), np.int64))
    with pytest.raises(ValueError, match="integer ids"):
        model.predict_proba(np.zeros((2, 6)))
    with pytest.raises(ValueError, match="head"):
        CNNLSTMNextWord(13, 6, head="mean")
    with pytest.raises(ValueError, match="kernel_size=7 is longer"):
        CNNNextWord(13, 6, kernel_size=7)


# ---------------------------------------------------------------- baselines, by hand

# ids: <PAD> 0, <UNK> 1, a 2, b 3, c 4. Training pairs (previous word -> next word):
# a -> b, a -> b, a -> c, b -> a.  Target counts: <UNK> 0, a 1, b 2, c 1 (n = 4).
PAIRS_X = np.array([[0, 2], [0, 2], [3, 2], [2, 3]])
PAIRS_Y = np.array([3, 3, 4, 2])


def test_unigram_by_hand():
    uni = UnigramModel(5, k=1.0).fit(PAIRS_Y)
    # add-one over the 4 possible targets (<PAD> never is one): (count + 1) / (4 + 4)
    expected = np.array([0, 1, 2, 3, 2]) / 8
    np.testing.assert_allclose(uni.predict_proba(np.array([[0, 2], [4, 4]])), [expected, expected])
    uni_half = UnigramModel(5, k=0.5).fit(PAIRS_Y)
    np.testing.assert_allclose(uni_half.probs, np.array([0, 0.5, 1.5, 2.5, 1.5]) / 6)


def test_bigram_by_hand():
    bi = BigramModel(5, weight=0.5, k=1.0).fit(PAIRS_X, PAIRS_Y)
    p = bi.predict_proba(np.array([[9, 2], [0, 3], [0, 4]]))  # contexts ending in a, b, c (c is never one)
    uni = np.array([0, 1, 2, 3, 2]) / 8
    # after a: b 2/3, c 1/3 by counts; half of that plus half the unigram
    np.testing.assert_allclose(p[0], [0, 1 / 16, 1 / 8, 1 / 3 + 3 / 16, 1 / 6 + 1 / 8])
    np.testing.assert_allclose(p[1], 0.5 * np.array([0, 0, 1, 0, 0]) + 0.5 * uni)    # after b: always a
    np.testing.assert_allclose(p[2], uni)                                            # unseen context: unigram
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert p[0, 3] == pytest.approx(25 / 48)
    # target_proba reads the same numbers without the (N, V) rows
    X, Y = np.array([[9, 2], [0, 3], [0, 4], [0, 2]]), np.array([3, 2, 4, 1])
    np.testing.assert_array_equal(bi.target_proba(X, Y), bi.predict_proba(X)[np.arange(4), Y])
    assert bi.target_proba(X[:1], Y[:1])[0] == pytest.approx(25 / 48)
    with pytest.raises(ValueError, match="expected ids below vocab_size=5"):
        bi.target_proba(np.array([[0, 7]]), np.array([2]))
    with pytest.raises(RuntimeError, match="call fit"):
        BigramModel(5).target_proba(X, Y)


def test_bigram_weight_is_chosen_on_validation():
    # Validation repeats the training pattern exactly, so the more weight on the bigram counts the better.
    best, table = choose_bigram_weight((PAIRS_X, PAIRS_Y), (PAIRS_X[:2], PAIRS_Y[:2]), 5,
                                       weights=[0.0, 0.5, 0.9])
    assert best == 0.9
    assert list(table["weight"]) == [0.0, 0.5, 0.9]
    assert table["val_perplexity"].is_monotonic_decreasing
    # ... and a validation pair never seen in training prefers the unigram.
    best, _ = choose_bigram_weight((PAIRS_X, PAIRS_Y), (np.array([[0, 2]]), np.array([2])), 5,
                                   weights=[0.0, 0.5])
    assert best == 0.0


def test_kneser_ney_by_hand():
    # Training pairs a->b, a->b, a->c, b->c (ids a=2, b=3, c=4; 0 <PAD>, 1 <UNK>); order 2, D = 0.5.
    X, Y = np.array([[2], [2], [2], [3]]), np.array([3, 3, 4, 4])
    kn = KneserNeyModel(5, order=2, discount=0.5).fit(X, Y)
    # Level 0: continuation counts, how many different words came before: b {a} = 1, c {a, b} = 2;
    # total 3, two types, mixed with the uniform 1/4 over the four ids that are not <PAD>.
    p0 = np.array([0, 0.25 / 3, 0.25 / 3, (0.5 + 0.25) / 3, (1.5 + 0.25) / 3])
    # Level 1 after a: counts b 2, c 1 (total 3, two types): (max(count - D, 0) + D * 2 * p0) / 3
    after_a = (np.maximum(np.array([0, 0, 0, 2, 1]) - 0.5, 0) + 0.5 * 2 * p0) / 3
    p = kn.predict_proba(np.array([[2], [4], [0]]))      # after a; after c and <PAD>, never contexts
    np.testing.assert_allclose(p, [after_a, p0, p0])
    assert p[0, 3] == pytest.approx(7 / 12)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_kneser_ney_is_a_distribution_at_every_order(order):
    rng = np.random.default_rng(order)
    X, Y = rng.integers(0, 9, (300, 4)), rng.integers(1, 9, 300)
    kn = KneserNeyModel(11, order=order, discount=0.8).fit(X, Y)        # ids 9 and 10: never seen
    X_new, Y_new = rng.integers(0, 11, (50, 4)), rng.integers(1, 11, 50)
    p = kn.predict_proba(X_new, batch_size=7)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    np.testing.assert_allclose(kn.target_proba(X_new, Y_new), p[np.arange(50), Y_new], rtol=1e-12)
    assert p[:, 0].max() == 0.0 and p[:, 1:].min() > 0.0               # <PAD> never, the rest always


def test_kneser_ney_reads_two_words_back():
    # The next word is decided by the word two back: a bigram model cannot see it, a trigram can.
    rng = np.random.default_rng(0)
    first, middle = rng.integers(2, 4, 400), rng.integers(4, 8, 400)
    X, Y = np.stack([first, middle], axis=1), first + 6                 # 2 -> 8, 3 -> 9
    tri = KneserNeyModel(10, order=3).fit(X[:300], Y[:300])
    bi = KneserNeyModel(10, order=2).fit(X[:300], Y[:300])
    val = (X[300:], Y[300:])
    assert cross_entropy(tri.predict_proba(val[0]), val[1]) < 0.1
    assert cross_entropy(bi.predict_proba(val[0]), val[1]) > 0.5       # ln 2 ~ 0.69: a coin flip
    best, table = choose_ngram((X[:300], Y[:300]), val, 10, orders=(2, 3))
    assert isinstance(best, KneserNeyModel) and best.order == 3
    assert table["model"].iloc[0] == "3-gram Kneser-Ney"
    assert table["val_cross_entropy"].is_monotonic_increasing
    assert set(table["model"]) == {"unigram (add-one)", "bigram (interpolated)", "2-gram Kneser-Ney",
                                   "3-gram Kneser-Ney"}


def test_kneser_ney_errors():
    with pytest.raises(ValueError, match="discount"):
        KneserNeyModel(5, discount=0.0)
    with pytest.raises(ValueError, match="order"):
        KneserNeyModel(5, order=0)
    with pytest.raises(RuntimeError, match="fit"):
        KneserNeyModel(5).predict_proba(PAIRS_X)
    with pytest.raises(ValueError, match="2 context words"):
        KneserNeyModel(5, order=3).fit(np.array([[2], [3]]), np.array([3, 4]))
    with pytest.raises(ValueError, match="below vocab_size=5"):
        KneserNeyModel(5, order=2).fit(np.array([[2], [7]]), np.array([3, 4]))


def test_baseline_errors():
    with pytest.raises(RuntimeError, match="fit"):
        BigramModel(5).predict_proba(PAIRS_X)
    with pytest.raises(ValueError, match="weight"):
        BigramModel(5, weight=1.0)
    with pytest.raises(ValueError, match=r"ids in \[0, 5\)"):
        UnigramModel(5).fit(np.array([1, 5]))


# ---------------------------------------------------------------- metrics, by hand

PROBS = np.array([[0.1, 0.6, 0.3],
                  [0.5, 0.25, 0.25]])


def test_ranks_and_top_k_by_hand():
    np.testing.assert_array_equal(target_rank(PROBS, [2, 1]), [1, 1])     # ties: the lower id ranks first
    np.testing.assert_array_equal(target_rank(PROBS, [1, 2]), [0, 2])
    assert top_k_accuracy(PROBS, [2, 1], k=1) == 0.0
    assert top_k_accuracy(PROBS, [2, 1], k=2) == 1.0
    assert top_k_accuracy(PROBS, [1, 2], k=2) == 0.5
    assert top_k_accuracy(np.log(PROBS), [1, 2], k=1) == 0.5              # logits rank the same way
    with pytest.raises(ValueError, match="k: expected an integer >= 1"):
        top_k_accuracy(PROBS, [1, 2], k=0)


def test_training_metric_functions_by_hand():
    logits = np.log(np.array([[0.05, 0.3, 0.25, 0.2, 0.1, 0.08, 0.02],      # target 6: rank 6
                              [0.05, 0.3, 0.25, 0.2, 0.1, 0.08, 0.02],      # target 5: rank 5
                              [0.05, 0.3, 0.25, 0.2, 0.1, 0.08, 0.02],      # target 0: rank 4
                              [0.05, 0.3, 0.25, 0.2, 0.1, 0.08, 0.02]]))    # target 1: rank 0
    y = np.array([6, 5, 0, 1])
    assert accuracy(logits, y) == 0.25
    assert top5_accuracy(logits, y) == 0.5


def test_cross_entropy_and_perplexity_by_hand():
    assert cross_entropy(PROBS, [2, 1]) == pytest.approx(-(np.log(0.3) + np.log(0.25)) / 2)
    assert perplexity(PROBS, [2, 1]) == pytest.approx(1 / np.sqrt(0.3 * 0.25))
    assert perplexity(np.full((4, 8), 1 / 8), [0, 1, 2, 3]) == pytest.approx(8)   # uniform over 8: 8
    with pytest.raises(ValueError, match="probability 0"):
        cross_entropy(np.array([[1.0, 0.0]]), [1])


def test_next_word_metrics_with_and_without_unk_targets():
    probs = np.array([[0.1, 0.6, 0.3],     # target <UNK> = 1: rank 0
                      [0.1, 0.6, 0.3],     # target 2: rank 1
                      [0.2, 0.3, 0.5]])    # target 2: rank 0
    m = next_word_metrics(probs, np.array([1, 2, 2]))
    assert m["n"] == 3 and m["unk_share"] == pytest.approx(1 / 3)
    assert m["top1"] == pytest.approx(2 / 3) and m["known_top1"] == pytest.approx(1 / 2)
    assert m["top5"] == 1.0 and m["known_top5"] == 1.0
    assert m["perplexity"] == pytest.approx((0.6 * 0.3 * 0.5) ** (-1 / 3))
    assert m["known_perplexity"] == pytest.approx((0.3 * 0.5) ** (-1 / 2))


# ---------------------------------------------------------------- training

CORPUS = ["the tumour is small", "the tumour is large", "the lymph nodes are clear",
          "the lymph nodes are swollen", "the scan is clear"] * 4


def corpus_data(seq_len=4):
    vocab = build_vocab(CORPUS)
    X, Y = create_examples(texts_to_sequences(CORPUS, vocab), seq_len)
    return vocab, (X, Y)


def test_cnn_training_learns_and_logs():
    vocab, (X, Y) = corpus_data()
    model = CNNNextWord(len(vocab), 4, embed_dim=8, filters=16, kernel_size=2, rng=np.random.default_rng(0))
    history = train_cnn(model, (X, Y), (X, Y), epochs=15, batch_size=8, lr=0.1, optimizer="sgd",
                        rng=np.random.default_rng(1),
                        progress=False)
    assert list(history.columns[:7]) == ["epoch", "train_loss", "train_acc", "train_top5",
                                         "val_loss", "val_acc", "val_top5"]
    assert len(history) == 15 and np.all(history["seconds"] > 0)
    assert history["train_loss"].iloc[-1] < 0.5 * history["train_loss"].iloc[0]
    assert history["train_acc"].iloc[-1] > 0.5


def test_cnn_weight_decay_is_on_the_dense_weight_only():
    """train_cnn(weight_decay={"dense.W": ...}, lr_decay=...) is fit_next_word with an Adam that decays
    ``dense.W`` alone, bit for bit; and the decay changes the training."""
    vocab, (X, Y) = corpus_data()

    def model():
        return CNNNextWord(len(vocab), 4, embed_dim=8, filters=16, kernel_size=2,
                           rng=np.random.default_rng(0))

    ours = model()
    history = train_cnn(ours, (X, Y), (X, Y), epochs=3, batch_size=8, lr=0.01, weight_decay={"dense.W": 0.5},
                        lr_decay=0.9, rng=np.random.default_rng(1), progress=False)
    by_hand = model()
    adam = Adam(by_hand.params, lr=0.01, weight_decay={by_hand.param_names["dense.W"]: 0.5})
    expected = fit_next_word(by_hand, adam, (X, Y), (X, Y), epochs=3, batch_size=8, lr_decay=0.9,
                             rng=np.random.default_rng(1), progress=False)
    pd.testing.assert_frame_equal(history.drop(columns=["seconds", "eval_seconds"]),
                                  expected.drop(columns=["seconds", "eval_seconds"]), check_exact=True)
    np.testing.assert_allclose(history["lr"], [0.01, 0.009, 0.0081], rtol=1e-12)
    plain = model()
    train_cnn(plain, (X, Y), (X, Y), epochs=3, batch_size=8, lr=0.01, lr_decay=0.9,
              rng=np.random.default_rng(1), progress=False)
    dense_w = plain.param_names["dense.W"]
    assert np.linalg.norm(ours.params[dense_w]) < np.linalg.norm(plain.params[dense_w])
    with pytest.raises(ValueError, match=r"do not exist: \['lstm.W_x'\]; expected some of \['conv.W'"):
        train_cnn(model(), (X, Y), (X, Y), epochs=1, weight_decay={"lstm.W_x": 0.1}, progress=False)
    with pytest.raises(ValueError, match="weight_decay of 'dense.W': expected a finite number >= 0"):
        train_cnn(model(), (X, Y), (X, Y), epochs=1, weight_decay={"dense.W": -1.0}, progress=False)
    every = model()
    assert set(decay_by_key(every, 0.1)) == set(every.params) and decay_by_key(every, None) == {}


def test_cnn_lstm_weight_decay_by_readable_names():
    vocab, (X, Y) = corpus_data()

    def model():
        return CNNLSTMNextWord(len(vocab), 4, embed_dim=6, filters=8, kernel_size=2, hidden_size=8,
                               rng=np.random.default_rng(0))

    decay = {"dense.W": 0.1, "lstm.W_x": 0.2}
    ours = model()
    history = train_cnn_lstm(ours, (X, Y), (X, Y), epochs=2, batch_size=8, lr=0.01, weight_decay=decay,
                             lr_decay=0.5, rng=np.random.default_rng(1), progress=False)
    by_hand = model()
    adam = Adam(by_hand.params, lr=0.01, weight_decay={by_hand.param_names[k]: v for k, v in decay.items()})
    expected = fit_next_word(by_hand, adam, (X, Y), (X, Y), epochs=2, batch_size=8, clip_norm=5.0, patience=4,
                             lr_decay=0.5, rng=np.random.default_rng(1), progress=False)
    timing = ["seconds", "eval_seconds"]
    pd.testing.assert_frame_equal(history.drop(columns=timing), expected.drop(columns=timing),
                                  check_exact=True)


@pytest.mark.parametrize("name", ALL)
def test_start_from_word_frequencies_sets_the_bias_to_log_add_one_frequencies(rng, name):
    model = make_models(rng, dtype=np.float32)[name]
    V = model.vocab_size
    Y = np.array([2, 2, 2, 3, V - 1])
    optimizer = Adam(model.params)              # holds the bias array: it must be changed in place
    bias = model.params[model.param_names["dense.b"]]
    model.start_from_word_frequencies(Y)
    counts = np.ones(V)
    counts[[2, 3, V - 1]] += [3, 1, 1]
    np.testing.assert_allclose(bias, np.log(counts / counts.sum()), rtol=1e-6)
    assert optimizer.params[model.param_names["dense.b"]] is bias and bias.dtype == np.float32
    model.params[model.param_names["dense.W"]][...] = 0      # the bias alone: its softmax is the frequencies
    np.testing.assert_allclose(model.predict_proba(np.ones((2, model.seq_len), int)),
                               np.tile(counts / counts.sum(), (2, 1)), rtol=1e-6)
    for bad, match in ((np.array([0, V]), r"expected ids in \[0, "), (np.array([], int), "at least one"),
                       (np.array([1.0, 2.0]), "integer ids")):
        with pytest.raises(ValueError, match=match):
            model.start_from_word_frequencies(bad)


def test_training_uses_one_blas_thread_and_restores_the_default():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    vocab, (X, Y) = corpus_data()
    model = CNNNextWord(len(vocab), 4, embed_dim=8, filters=16, kernel_size=2, rng=np.random.default_rng(0))
    seen = []
    forward = model.forward

    def spy(X, training=True):
        seen.append({i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"})
        return forward(X, training=training)

    model.forward = spy
    before = [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
    train_cnn(model, (X, Y), (X, Y), epochs=1, batch_size=8, progress=False)
    assert seen and all(threads == {1} for threads in seen)
    assert [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"] == before


def test_same_seed_gives_identical_training_and_another_seed_does_not():
    vocab, (X, Y) = corpus_data()

    def run(seed):
        model = CNNLSTMNextWord(len(vocab), 4, embed_dim=6, filters=8, kernel_size=2, hidden_size=8,
                                dropout=0.3, rng=np.random.default_rng(seed))
        history = train_cnn_lstm(model, (X, Y), (X, Y), epochs=3, batch_size=8,
                                 rng=np.random.default_rng(seed), progress=False)
        return history, model

    (h1, m1), (h2, m2), (h3, _) = run(0), run(0), run(1)
    cols = ["train_loss", "val_loss", "val_acc"]
    assert h1[cols].equals(h2[cols])
    assert all(np.array_equal(m1.params[k], m2.params[k]) for k in m1.params)
    assert not h1[cols].equals(h3[cols])


def test_early_stopping_keeps_the_best_weights():
    vocab, (X, Y) = corpus_data()
    rng = np.random.default_rng(0)
    model = CNNLSTMNextWord(len(vocab), 4, embed_dim=6, filters=8, kernel_size=2, hidden_size=8, rng=rng)
    # A validation set the training data cannot help with: its loss soon rises, which stops training.
    X_val, Y_val = X[:10], np.roll(Y[:10], 3)
    history = train_cnn_lstm(model, (X, Y), (X_val, Y_val), epochs=40, batch_size=8, lr=0.02, patience=2,
                             rng=rng, progress=False)
    assert len(history) < 40 and history["best"].sum() == 1
    best = history.loc[history["best"], "val_loss"].item()
    assert best == history["val_loss"].min()
    after = softmax_cross_entropy(model.forward(X_val, training=False), Y_val)[0]
    assert after == pytest.approx(best, rel=1e-5)


# ---------------------------------------------------------------- the weight file

@pytest.mark.parametrize("name", ALL)
def test_save_and_load_round_trip(rng, tmp_path, name):
    vocab = build_vocab(["k k k j j i h g f e d c b a"])       # not alphabetical: k=2, j=3, a=4, ..., i=12
    assert vocab["k"] == 2 and vocab["a"] == 4 and len(vocab) == 13
    model = make_models(rng, dtype=np.float32)[name]
    path = save_model(model, tmp_path / "weights.npz", vocab, info={"min_freq": 1})
    loaded, vocab2, config = load_model(path)
    assert type(loaded) is type(model) and vocab2 == vocab and list(vocab2) == list(vocab)
    assert config["min_freq"] == 1 and config["seq_len"] == 6
    for key in model.params:
        np.testing.assert_array_equal(loaded.params[key], model.params[key])
    X, _ = tiny_examples(rng)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    with np.load(path, allow_pickle=False) as data:                       # plain arrays, no pickle
        names = set(data.files)
    expected = {"embedding.W", "conv.W", "conv.b", "dense.W", "dense.b", "vocab", "config"}
    if "LSTM" in name:
        expected |= {"lstm.W_x", "lstm.W_h", "lstm.b"}
    assert names == expected
    assert loaded.config() == model.config()


def test_sizes_from_a_search_table_are_saved_as_plain_json(rng, tmp_path):
    # NumPy integers (e.g. from a DataFrame index) must not break the JSON config.
    model = CNNLSTMNextWord(13, np.int64(6), kernel_size=np.int64(2), hidden_size=np.int64(3), embed_dim=4,
                            filters=5, rng=rng)
    path = save_model(model, tmp_path / "w.npz", build_vocab(["a b c d e f g h i j k"]))
    assert load_model(path)[2]["kernel_size"] == 2


def test_save_refuses_a_vocabulary_of_the_wrong_size(rng, tmp_path):
    model = make_models(rng, dtype=np.float32)["CNN"]
    with pytest.raises(ValueError, match="12 words but the model predicts 13"):
        save_model(model, tmp_path / "w.npz", build_vocab(["a b c d e f g h i j"]))


def test_the_committed_weights_of_lesson_05():
    """The file lesson 06 loads: documented keys and shapes, a vocabulary rebuilt from its own config."""
    path = data_dir() / "models" / "05_cnn_lstm_weights.npz"
    model, vocab, config = load_model(path)
    assert config["architecture"] == "cnn_lstm" and isinstance(model, CNNLSTMNextWord)
    V, E, F, k, H = (config[key] for key in ("vocab_size", "embed_dim", "filters", "kernel_size",
                                             "hidden_size"))
    with np.load(path, allow_pickle=False) as data:
        shapes = {key: data[key].shape for key in data.files}
        assert data["embedding.W"].dtype == np.float32
        assert json.loads(str(data["config"])) == config
    assert shapes == {"embedding.W": (V, E), "conv.W": (k, E, F), "conv.b": (F,), "lstm.W_x": (F, 4 * H),
                      "lstm.W_h": (H, 4 * H), "lstm.b": (4 * H,), "dense.W": (H, V), "dense.b": (V,),
                      "vocab": (V,), "config": ()}
    train, _, _ = split_sentences(load_medical_corpus(), tuple(config["split_fractions"]),
                                  seed=config["split_seed"])
    assert vocab == build_vocab(train, min_freq=config["min_freq"])
    assert predict_next(model, vocab, ["breast", "cancer"], top_k=1)        # it runs end to end


def test_the_committed_weights_of_lesson_04():
    """The CNN file lesson 05 loads: documented keys and shapes, its vocabulary, its recorded test score."""
    path = data_dir() / "models" / "04_cnn_weights.npz"
    model, vocab, config = load_model(path)
    assert config["architecture"] == "cnn" and isinstance(model, CNNNextWord)
    V, E, F, k, T = (config[key] for key in ("vocab_size", "embed_dim", "filters", "kernel_size", "seq_len"))
    with np.load(path, allow_pickle=False) as data:
        shapes = {key: data[key].shape for key in data.files}
    E_in = E + (T if config["positions"] else 0)
    assert shapes == {"embedding.W": (V, E), "conv.W": (k, E_in, F), "conv.b": (F,), "dense.W": (F, V),
                      "dense.b": (V,), "vocab": (V,), "config": ()}
    train, _, test = split_sentences(load_medical_corpus(), tuple(config["split_fractions"]),
                                     seed=config["split_seed"])
    assert vocab == build_vocab(train, min_freq=config["min_freq"])
    X, Y = create_examples(texts_to_sequences(test, vocab), T)
    assert next_word_metrics(model.predict_proba(X), Y)["perplexity"] == pytest.approx(
        config["test"]["perplexity"], rel=1e-9)                              # the score lesson 04 printed
