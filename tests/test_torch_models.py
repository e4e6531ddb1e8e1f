"""Lesson 06's PyTorch model: the same outputs and gradients as lesson 05's NumPy model, both heads."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course_utils import softmax_cross_entropy
from course_utils.interop import torch_grads
from course_utils.lessons.next_word.evaluation import predict_next
from course_utils.lessons.next_word.models import CNNLSTMNextWord, CNNNextWord, build_model, load_model
from course_utils.lessons.next_word.torch_hybrid import CNNLSTMTorch, TorchPredictor, _numpy_layers
from course_utils.paths import data_dir

V, T = 12, 5
SIZES = {"embed_dim": 4, "filters": 6, "kernel_size": 2, "hidden_size": 5}


def numpy_model(rng, head="last", dtype=np.float32, dropout=0.5):
    """A small NumPy hybrid with every parameter, the biases included, drawn from N(0, 0.5)."""
    model = CNNLSTMNextWord(V, T, **SIZES, head=head, dropout=dropout, rng=rng, dtype=dtype)
    for p in model.params.values():
        p[...] = 0.5 * rng.standard_normal(p.shape)
    return model


def ids(rng, n=7):
    X = rng.integers(0, V, (n, T))
    X[0, :2] = 0                                    # a left-padded context, as create_examples makes them
    return X


@pytest.mark.parametrize("head", ["last", "max"])
@pytest.mark.parametrize("dtype,tol", [(np.float32, 1e-5), (np.float64, 1e-12)])
def test_from_numpy_gives_the_same_logits(rng, head, dtype, tol):
    model = numpy_model(rng, head, dtype)
    net = CNNLSTMTorch.from_numpy(model).eval()
    assert net.head == head
    assert net.dense.weight.dtype == (torch.float64 if dtype == np.float64 else torch.float32)
    X = ids(rng)
    ours = model.forward(X, training=False)
    theirs = net(torch.from_numpy(X)).detach().numpy()
    assert theirs.shape == (len(X), V)
    np.testing.assert_allclose(theirs, ours, rtol=0, atol=tol)
    assert np.abs(ours).max() > 0.1                 # not trivially zero


def test_the_head_switch_changes_the_model_not_the_weights(rng):
    model = numpy_model(rng, "last")
    last = CNNLSTMTorch.from_numpy(model).eval()
    pooled = CNNLSTMTorch.from_numpy(model, head="max").eval()
    for (name, a), (_, b) in zip(last.state_dict().items(), pooled.state_dict().items()):
        assert torch.equal(a, b), name
    X = torch.from_numpy(ids(rng))
    assert not torch.allclose(last(X), pooled(X))


@pytest.mark.parametrize("head", ["last", "max"])
def test_whole_model_gradients_match_numpy(rng, head):
    """Float64: the loss's gradient for every parameter, autograd against lesson 05's backward."""
    model = numpy_model(rng, head, np.float64, dropout=0.0)
    net = CNNLSTMTorch.from_numpy(model)
    X, Y = ids(rng), rng.integers(0, V, 7)
    loss, dlogits = softmax_cross_entropy(model.forward(X, training=True), Y)
    model.backward(dlogits)
    loss_t = F.cross_entropy(net(torch.from_numpy(X)), torch.from_numpy(Y))
    loss_t.backward()
    assert abs(loss - loss_t.item()) < 1e-12
    for name, layer in _numpy_layers(model).items():
        theirs = torch_grads(getattr(net, name), layer)
        for key, g in theirs.items():
            np.testing.assert_allclose(layer.grads[key], g, rtol=1e-7, atol=1e-12, err_msg=f"{name}.{key}")


@pytest.mark.parametrize("head", ["last", "max"])
def test_forward_is_the_documented_pipeline(rng, head):
    net = CNNLSTMTorch(V, T, **SIZES, head=head).eval()
    X = torch.from_numpy(ids(rng))
    with torch.no_grad():
        x = torch.relu(net.conv(net.embedding(X).permute(0, 2, 1))).permute(0, 2, 1)   # (N, T', F)
        out, (h_n, _) = net.lstm(x)
        h = out.max(dim=1).values if head == "max" else h_n[0]
        assert out.shape == (7, T - SIZES["kernel_size"] + 1, SIZES["hidden_size"])
        torch.testing.assert_close(net(X), net.dense(h), rtol=0, atol=1e-6)


def test_to_numpy_round_trip(rng):
    torch.manual_seed(0)
    net = CNNLSTMTorch(V, T, **SIZES, head="max", dropout=0.3).double().eval()
    model = net.to_numpy()
    assert model.config() == net.config() and model.params["0.W"].dtype == np.float64
    X = ids(rng)
    np.testing.assert_allclose(model.forward(X, training=False), net(torch.from_numpy(X)).detach().numpy(),
                               rtol=0, atol=1e-12)
    again = CNNLSTMTorch.from_numpy(model)
    assert again.config() == net.config()
    ours, theirs = again.state_dict(), net.state_dict()
    for name in ours:
        if "lstm.bias" not in name:
            assert torch.equal(ours[name], theirs[name]), name
    # PyTorch's two LSTM biases come back as one (in bias_ih_l0, bias_hh_l0 = 0): the same sum.
    torch.testing.assert_close(ours["lstm.bias_ih_l0"] + ours["lstm.bias_hh_l0"],
                               theirs["lstm.bias_ih_l0"] + theirs["lstm.bias_hh_l0"], rtol=0, atol=1e-15)
    assert not ours["lstm.bias_hh_l0"].any()
    assert build_model(net.config()).config() == net.config()


def test_dropout_only_in_training_mode(rng):
    torch.manual_seed(0)
    net = CNNLSTMTorch(V, T, **SIZES, dropout=0.5)
    X = torch.from_numpy(ids(rng))
    net.train()
    assert not torch.equal(net(X), net(X))
    net.eval()
    assert torch.equal(net(X), net(X))


def test_predictor_follows_the_predict_next_protocol(rng):
    model = numpy_model(rng, "last")
    net = CNNLSTMTorch.from_numpy(model).train()             # left in training mode on purpose
    predictor = TorchPredictor(net, batch_size=3)
    X = ids(rng)
    probs = predictor.predict_proba(X)
    assert probs.dtype == np.float64 and probs.shape == (len(X), V)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(probs, model.predict_proba(X), rtol=0, atol=1e-6)   # dropout was off
    assert net.training                                      # and the mode is restored
    np.testing.assert_allclose(predictor.logits(X), TorchPredictor(net, batch_size=100).logits(X),
                               rtol=0, atol=1e-6)
    vocab = {"<PAD>": 0, "<UNK>": 1, **{f"w{i}": i for i in range(2, V)}}
    got = predict_next(predictor, vocab, ["w3", "never-seen"], top_k=3)
    want = predict_next(model, vocab, ["w3", "never-seen"], top_k=3)
    assert [w for w, _ in got] == [w for w, _ in want]
    assert [p for _, p in got] == pytest.approx([p for _, p in want], abs=1e-6)


def test_bad_inputs(rng):
    net = CNNLSTMTorch(V, T, **SIZES)
    bad_inputs = (np.zeros((2, T + 1), np.int64), np.zeros((2, T)), np.full((2, T), V), np.zeros(T, np.int64),
                  np.full((2, T), -1), [[1] * T])
    for bad in bad_inputs:
        with pytest.raises(ValueError, match="X"):
            net(bad)
    with pytest.raises(ValueError, match="X"):
        TorchPredictor(net).predict_proba(np.zeros((2, T), np.float32))
    with pytest.raises(ValueError, match="head"):
        CNNLSTMTorch(V, T, head="mean")
    with pytest.raises(ValueError, match="kernel_size"):
        CNNLSTMTorch(V, 2, kernel_size=3)
    with pytest.raises(ValueError, match="dropout"):
        CNNLSTMTorch(V, T, dropout=1.0)
    with pytest.raises(ValueError, match="CNNLSTMNextWord"):
        CNNLSTMTorch.from_numpy(CNNNextWord(V, T, rng=rng))
    with pytest.raises(ValueError, match="seq_len"):
        TorchPredictor(torch.nn.Linear(3, 3))


def test_num_classes_sets_the_size_of_the_output(rng):
    torch.manual_seed(0)
    net = CNNLSTMTorch(V, T, **SIZES, num_classes=3).eval()
    assert net(torch.from_numpy(ids(rng))).shape == (7, 3)
    assert (net.num_classes, net.dense.out_features, net.vocab_size) == (3, 3, V)
    assert net.config()["num_classes"] == 3
    rebuilt = CNNLSTMTorch(**{k: v for k, v in net.config().items() if k != "architecture"})
    assert rebuilt.config() == net.config() and rebuilt.dense.out_features == 3


def test_num_classes_none_keeps_the_next_word_model(rng):
    default, explicit = CNNLSTMTorch(V, T, **SIZES), CNNLSTMTorch(V, T, **SIZES, num_classes=V)
    for net in (default, explicit):
        assert net.num_classes == V and net(torch.from_numpy(ids(rng))).shape == (7, V)
        # the config of a next-word model is the NumPy twin's, key for key: no num_classes in it
        assert "num_classes" not in net.config()
        assert net.config() == CNNLSTMNextWord(V, T, **SIZES, head="max", dropout=0.5, rng=rng).config()
    assert explicit.to_numpy().config() == explicit.config()


@pytest.mark.parametrize("bad", [0, -2, np.int64(0), 4.0, True, "4"])
def test_a_bad_num_classes_is_refused_by_name(bad):
    with pytest.raises(ValueError, match="num_classes"):
        CNNLSTMTorch(V, T, **SIZES, num_classes=bad)


def test_to_numpy_refuses_a_classifier():
    net = CNNLSTMTorch(V, T, **SIZES, num_classes=4)
    with pytest.raises(ValueError, match=r"num_classes=4.*no NumPy twin"):
        net.to_numpy()


def test_the_weights_of_lesson_05_load_with_parity():
    path = data_dir() / "models" / "05_cnn_lstm_weights.npz"
    if not path.is_file():
        pytest.skip(f"{path} is written by a full run of lesson 05")
    model, vocab, config = load_model(path)
    net = CNNLSTMTorch.from_numpy(model).eval()
    assert net.config() == {k: config[k] for k in net.config()}
    X = np.random.default_rng(0).integers(0, len(vocab), (50, config["seq_len"]))
    np.testing.assert_allclose(TorchPredictor(net).logits(X), model.forward(X, training=False),
                               rtol=0, atol=1e-5)


def test_param_groups_put_each_parameter_once_with_its_readable_decay(rng):
    net = CNNLSTMTorch(V, T, **SIZES)
    groups = net.param_groups({"dense.W": 1e-4, "embedding.W": 1e-4, "lstm.W_h": 3e-4})
    by_decay = {g["weight_decay"]: g["params"] for g in groups}
    assert sorted(by_decay) == [0.0, 1e-4, 3e-4]
    assert [id(p) for p in by_decay[1e-4]] == [id(net.embedding.weight), id(net.dense.weight)]
    assert [id(p) for p in by_decay[3e-4]] == [id(net.lstm.weight_hh_l0)]
    every = [id(p) for g in groups for p in g["params"]]
    assert sorted(every) == sorted(id(p) for p in net.parameters())          # each one, once
    assert net.param_groups() == [{"params": list(net.readable_params()["embedding.W"])
                                   + [p for name, ps in net.readable_params().items()
                                      if name != "embedding.W" for p in ps], "weight_decay": 0.0}]
    with pytest.raises(ValueError, match=r"do not exist: \['lstm.W'\]"):
        net.param_groups({"lstm.W": 0.1})
    for bad in (float("nan"), -1e-4):          # torch would take either without a word
        with pytest.raises(ValueError, match="weight_decay of 'dense.W': expected a finite number >= 0"):
            net.param_groups({"dense.W": bad})


@pytest.mark.parametrize("name", ["adam", "sgd"])
def test_one_step_of_lesson_05s_recipe_is_the_same_in_both_frameworks(rng, name):
    """Bias start, weight decay by readable name, one step on the same batch (float64, no dropout).

    Adam's first step is about ``lr * sign(g)``, which weight decay rarely changes; SGD's is
    ``lr * (g + wd * p)``, so there a decay on the wrong parameters cannot pass. Every weight moves
    alike, except the LSTM bias: NumPy has one, PyTorch two that it adds, and each of the two moves
    by a full step, so their sum moves twice as far."""
    from course_utils.lessons.next_word.training import decay_by_key
    from course_utils.optim import SGD, Adam

    ours_cls, theirs_cls = (Adam, torch.optim.Adam) if name == "adam" else (SGD, torch.optim.SGD)
    model = numpy_model(rng, "last", np.float64, dropout=0.0)
    net = CNNLSTMTorch.from_numpy(model)
    X, Y = ids(rng, 9), rng.integers(1, V, 9)
    model.start_from_word_frequencies(Y)
    net.start_from_word_frequencies(Y)
    decay = {"dense.W": 0.1, "embedding.W": 0.05, "lstm.W_x": 0.2}
    before = {name: p.copy() for name, p in model.named_params().items()}
    _, dlogits = softmax_cross_entropy(model.forward(X), Y)
    model.backward(dlogits)
    ours_cls(model.params, lr=0.01, weight_decay=decay_by_key(model, decay)).step(model.grads)
    optimizer = theirs_cls(net.param_groups(decay), lr=0.01)
    F.cross_entropy(net(torch.from_numpy(X)), torch.from_numpy(Y)).backward()
    optimizer.step()
    theirs = net.to_numpy().named_params()
    for key, p in model.named_params().items():
        if key == "lstm.b":
            np.testing.assert_allclose(theirs[key] - before[key], 2 * (p - before[key]), rtol=1e-9)
        else:
            np.testing.assert_allclose(theirs[key], p, rtol=1e-10, atol=1e-12, err_msg=key)
    with pytest.raises(ValueError, match=r"expected a next-word model \(num_classes == vocab_size\), got a "
                                         "classifier with num_classes=3"):
        CNNLSTMTorch(V, T, **SIZES, num_classes=3).start_from_word_frequencies(Y)
