"""Optimizers and clipping against torch.optim;
the training loop: learns, stops early, repeats bit for bit."""

import numpy as np
import pandas as pd
import pytest
import torch

from course_utils import (
    LSTM,
    SGD,
    Adam,
    Dense,
    Dropout,
    ReLU,
    Sequential,
    clip_grad_norm,
    mse,
    seed_everything,
    softmax_cross_entropy,
)
from course_utils.training import evaluate, minibatches, sample_rows, train


def run_steps(make_ours, make_theirs, rng, steps=5):
    """Apply the same gradients for ``steps`` steps with our optimizer and PyTorch's;
    return both parameters."""
    w0 = rng.standard_normal((3, 4))
    grads = [rng.standard_normal((3, 4)) for _ in range(steps)]
    ours = {"w": w0.copy()}
    opt = make_ours(ours)
    theirs = torch.nn.Parameter(torch.tensor(w0))
    topt = make_theirs([theirs])
    for g in grads:
        opt.step({"w": g.copy()})
        theirs.grad = torch.tensor(g)
        topt.step()
    return ours["w"], theirs.detach().numpy()


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_sgd_matches_torch(rng, momentum):
    ours, theirs = run_steps(lambda p: SGD(p, lr=0.1, momentum=momentum),
                             lambda p: torch.optim.SGD(p, lr=0.1, momentum=momentum), rng)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-14)


def test_adam_matches_torch(rng):
    ours, theirs = run_steps(lambda p: Adam(p, lr=0.01, betas=(0.8, 0.99)),
                             lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.8, 0.99)), rng, steps=8)
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-14)


def run_groups(make_ours, make_theirs, rng, steps=6):
    """Like ``run_steps`` with two parameters, so that weight decay can apply to one of them only."""
    w0 = {"a": rng.standard_normal((3, 4)), "b": rng.standard_normal(5)}
    grads = [{k: rng.standard_normal(w.shape) for k, w in w0.items()} for _ in range(steps)]
    ours = {k: w.copy() for k, w in w0.items()}
    opt = make_ours(ours)
    theirs = {k: torch.nn.Parameter(torch.tensor(w)) for k, w in w0.items()}
    topt = make_theirs(theirs)
    for g in grads:
        given = {k: v.copy() for k, v in g.items()}
        opt.step(given)
        for k, v in given.items():   # the caller's gradients are not changed by the decay
            np.testing.assert_array_equal(v, g[k])
        for k, p in theirs.items():
            p.grad = torch.tensor(g[k])
        topt.step()
    return ours, {k: p.detach().numpy() for k, p in theirs.items()}


@pytest.mark.parametrize("name", ["adam", "sgd"])
def test_weight_decay_on_chosen_parameters_matches_torch_parameter_groups(name):
    ours_cls, theirs_cls, kw = ((Adam, torch.optim.Adam, {"lr": 0.01}) if name == "adam"
                                else (SGD, torch.optim.SGD, {"lr": 0.1, "momentum": 0.9}))

    def run(decay, torch_groups):     # the same weights and gradients for every run
        return run_groups(lambda p: ours_cls(p, weight_decay=decay, **kw),
                          lambda p: theirs_cls(torch_groups(p), **kw), np.random.default_rng(7))

    ours, theirs = run({"a": 0.3}, lambda p: [{"params": [p["a"]], "weight_decay": 0.3},
                                              {"params": [p["b"]]}])
    plain, torch_plain = run(0.0, lambda p: p.values())
    everywhere, torch_everywhere = run(0.3, lambda p: [{"params": list(p.values()), "weight_decay": 0.3}])
    for k in "ab":
        np.testing.assert_allclose(ours[k], theirs[k], rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(plain[k], torch_plain[k], rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(everywhere[k], torch_everywhere[k], rtol=1e-10, atol=1e-14)
    # The decay changes what it should and nothing else: "b" is undecayed in the first run.
    assert not np.allclose(ours["a"], plain["a"]) and np.array_equal(ours["b"], plain["b"])
    assert not np.allclose(everywhere["b"], plain["b"])


def test_weight_decay_errors():
    params = {"w": np.zeros(2)}
    with pytest.raises(ValueError, match=r"do not exist: \['v'\]; expected some of \['w'\]"):
        Adam(params, weight_decay={"v": 0.1})
    for bad in (-0.1, float("nan"), float("inf"), True, np.True_, "0.1", None):
        with pytest.raises(ValueError, match="weight_decay of 'w': expected a finite number >= 0"):
            SGD(params, weight_decay=bad)
    for good in (np.float32(0.1), np.int64(0), 1):          # any real number, NumPy's included
        assert SGD(params, weight_decay=good).weight_decay == {"w": float(good)}


def test_clip_grad_norm_matches_torch(rng):
    arrays = [rng.standard_normal((3, 4)) * 5, rng.standard_normal(7)]
    grads = {"a": arrays[0].copy(), "b": arrays[1].copy()}
    params = [torch.nn.Parameter(torch.zeros(a.shape, dtype=torch.float64)) for a in arrays]
    for p, a in zip(params, arrays):
        p.grad = torch.tensor(a)
    total = clip_grad_norm(grads, 1.0)
    assert total == pytest.approx(float(torch.nn.utils.clip_grad_norm_(params, 1.0)), rel=1e-12)
    for g, p in zip(grads.values(), params):
        np.testing.assert_allclose(g, p.grad.numpy(), rtol=1e-6)
    assert np.sqrt(sum((g ** 2).sum() for g in grads.values())) == pytest.approx(1.0, rel=1e-6)
    small = {"a": np.full(3, 0.1)}
    assert clip_grad_norm(small, 1.0) == pytest.approx(np.sqrt(0.03)) and np.all(small["a"] == 0.1)


def test_optimizer_errors():
    with pytest.raises(ValueError, match="learning rate must be positive"):
        SGD({"w": np.zeros(2)}, lr=0)
    opt = Adam({"w": np.zeros(2)})
    with pytest.raises(ValueError, match=r"no gradient for \['w'\]"):
        opt.step({})
    with pytest.raises(ValueError, match=r"gradient of 'w' has shape \(3,\), expected \(2,\)"):
        opt.step({"w": np.zeros(3)})
    with pytest.raises(FloatingPointError, match="diverged"):
        clip_grad_norm({"w": np.array([np.nan])}, 1.0)
    with pytest.raises(ValueError, match=r"betas must be in \[0, 1\)"):
        Adam({"w": np.zeros(2)}, betas=(1.0, 0.999))


def test_a_failed_step_changes_nothing():
    params = {"a": np.zeros(2), "b": np.zeros(3)}
    opt = Adam(params, lr=0.1)
    with pytest.raises(ValueError, match="gradient of 'b'"):
        opt.step({"a": np.ones(2), "b": np.ones(4)})
    assert opt.t == 0 and not params["a"].any() and not opt.m["a"].any()
    opt.step({"a": np.ones(2), "b": np.ones(3)})
    assert opt.t == 1 and np.all(params["a"] < 0)


def test_minibatches_cover_every_example_once(rng):
    X, y = np.arange(10)[:, None], np.arange(10)
    seen = np.concatenate([yb for _, yb in minibatches(X, y, 3, rng=rng)])
    assert sorted(seen) == list(range(10)) and not np.array_equal(seen, np.arange(10))
    with pytest.raises(ValueError, match="same number of examples"):
        list(minibatches(X, y[:5], 3))


def spirals(n=300, seed=0):
    """Three interleaved spirals: not linearly separable, so learning is needed."""
    r = np.random.default_rng(seed)
    t = np.linspace(0.2, 1, n // 3)
    X = np.concatenate([np.c_[t * np.sin(4 * t + 2 * np.pi * k / 3), t * np.cos(4 * t + 2 * np.pi * k / 3)]
                        for k in range(3)]) + 0.02 * r.standard_normal((n // 3 * 3, 2))
    y = np.repeat(np.arange(3), n // 3)
    return X.astype(np.float32), y


def accuracy(out, y):
    return float((out.argmax(-1) == y).mean())


def fit_spirals(seed, epochs=30, **kw):
    seed_everything(seed)
    X, y = spirals()
    model = Sequential([Dense(2, 32), ReLU(), Dropout(0.1), Dense(32, 3)])  # dropout: random draws too
    history = train(model, softmax_cross_entropy, Adam(model.params, lr=0.02), (X, y), (X, y),
                    epochs=epochs, batch_size=32, clip_norm=5.0, metrics={"accuracy": accuracy},
                    progress=False, **kw)
    return model, history


def test_training_learns_and_logs(rng):
    model, history = fit_spirals(0)
    assert list(history.columns) == ["epoch", "train_loss", "val_loss", "val_accuracy", "seconds",
                                     "eval_seconds", "grad_norm"]
    assert history["train_loss"].iloc[0] > 0.9   # about ln 3 = 1.10 at the start
    assert history["train_loss"].iloc[-1] < 0.3
    assert history["val_accuracy"].iloc[-1] > 0.9
    X, y = spirals()
    assert evaluate(model, softmax_cross_entropy, X, y)["loss"] == pytest.approx(history["val_loss"].iloc[-1])


def test_eval_train_scores_the_end_of_epoch_model_in_evaluation_mode():
    model, history = fit_spirals(0, epochs=3, eval_train=True)
    assert list(history.columns) == ["epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy",
                                     "seconds", "eval_seconds", "grad_norm"]
    # Training and validation sets are the same data here, so the two evaluations must agree exactly,
    # while the running mean of the default (dropout on, weights moving) differs from them.
    np.testing.assert_array_equal(history["train_loss"], history["val_loss"])
    np.testing.assert_array_equal(history["train_accuracy"], history["val_accuracy"])
    _, running = fit_spirals(0, epochs=3)
    assert not np.allclose(running["train_loss"], history["train_loss"])
    np.testing.assert_array_equal(running["val_loss"], history["val_loss"])  # same seed, same training


def test_eval_train_on_a_sample_scores_that_sample_and_leaves_training_unchanged():
    model, history = fit_spirals(0, epochs=3, eval_train=50)
    _, full = fit_spirals(0, epochs=3, eval_train=True)
    np.testing.assert_array_equal(history["val_loss"], full["val_loss"])    # the batch order is untouched
    X, y = spirals()
    sample = np.sort(np.random.default_rng(0).choice(len(y), 50, replace=False))
    np.testing.assert_array_equal(sample_rows(len(y), 50), sample)     # what lesson 06 reads too
    np.testing.assert_array_equal(sample_rows(7, 50), np.arange(7))
    assert history["train_loss"].iloc[-1] == pytest.approx(
        evaluate(model, softmax_cross_entropy, X[sample], y[sample])["loss"])
    assert history["train_loss"].iloc[-1] != pytest.approx(full["train_loss"].iloc[-1])
    _, larger = fit_spirals(0, epochs=1, eval_train=10_000)                  # more than there are: all
    np.testing.assert_array_equal(larger["train_loss"], full["train_loss"].iloc[:1])
    for bad in (0, 2.5):
        with pytest.raises(ValueError, match="eval_train"):
            fit_spirals(0, epochs=1, eval_train=bad)


def test_same_seed_gives_bit_identical_histories():
    _, a = fit_spirals(3, epochs=5)
    _, b = fit_spirals(3, epochs=5)
    _, c = fit_spirals(4, epochs=5)
    cols = ["train_loss", "grad_norm", "val_loss", "val_accuracy"]
    pd.testing.assert_frame_equal(a[cols], b[cols], check_exact=True)
    assert not a[cols].equals(c[cols])


def test_lr_decay_multiplies_the_rate_after_every_epoch_as_torch_exponential_lr():
    model, history = fit_spirals(0, epochs=4, lr_decay=0.5)
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.02)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.5)
    expected = []
    for _ in range(4):
        expected.append(opt.param_groups[0]["lr"])
        opt.step()
        scheduler.step()
    np.testing.assert_allclose(history["lr"], expected, rtol=1e-12)
    _, constant = fit_spirals(0, epochs=4)
    assert "lr" not in constant and history["val_loss"].iloc[0] == constant["val_loss"].iloc[0]
    assert history["val_loss"].iloc[-1] != constant["val_loss"].iloc[-1]   # epochs 2-4 took smaller steps
    for bad in (0.0, 1.5, -0.9):
        with pytest.raises(ValueError, match=r"lr_decay must be in \(0, 1\]"):
            fit_spirals(0, epochs=1, lr_decay=bad)


def test_early_stopping_restores_the_best_weights():
    """A regression whose validation set disagrees with training: validation loss soon rises."""
    seed_everything(0)
    r = np.random.default_rng(0)
    X = r.standard_normal((64, 3, 2)).astype(np.float32)
    y = X.sum(axis=(1, 2))[:, None].astype(np.float32)
    Xv, yv = X[:16], -y[:16]  # deliberately contradicting targets
    model = Sequential([LSTM(2, 8, return_sequences=False), Dense(8, 1)])
    history = train(model, mse, Adam(model.params, lr=0.02), (X, y), (Xv, yv), epochs=50, batch_size=16,
                    patience=3, progress=False)
    assert len(history) < 50, "early stopping never triggered"
    best = history.loc[history["best"], "val_loss"]
    assert len(best) == 1 and best.iloc[0] == history["val_loss"].min()
    assert history["epoch"].iloc[-1] == history.loc[history["best"], "epoch"].iloc[0] + 3
    assert evaluate(model, mse, Xv, yv)["loss"] == pytest.approx(best.iloc[0], rel=1e-6)
    with pytest.raises(ValueError, match="needs val_data"):
        train(model, mse, Adam(model.params), (X, y), epochs=1, batch_size=8, patience=2, progress=False)
