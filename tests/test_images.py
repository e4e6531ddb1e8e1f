"""Tests of course_utils.lessons.pneumonia (lesson 07): the npz loader, augmentation, the CNN, training,
metrics, Grad-CAM.

Every npz file is written by the test into a temporary folder; the real mirror file is read only
if it is there.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from course_utils.lessons.pneumonia.augmentation import (
    adjust_intensity,
    affine_theta,
    apply_affine,
    gaussian_blur,
    random_affine,
    random_intensity,
    shifted_copy,
)
from course_utils.lessons.pneumonia.data import (
    ImageDataset,
    load_npz_images,
    pneumonia_data_name,
    subsample_class,
    to_tensor,
)
from course_utils.lessons.pneumonia.evaluation import auc_gain, roc_auc
from course_utils.lessons.pneumonia.gradcam import grad_cam
from course_utils.lessons.pneumonia.model import (
    ImageStandardize,
    build_cnn,
    count_parameters,
    predict_logits,
    predict_proba,
)
from course_utils.lessons.pneumonia.training import train_classifier
from course_utils.metrics import binary_metrics, youden_threshold

REPO = Path(__file__).resolve().parents[1]
SHIPPED_XRAYS = REPO / "data" / "pneumoniamnist_28_balanced.npz"  # ships with the course
pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tiny tensors: threads only add overhead
COUNTS = {"train": (6, 4), "val": (3, 3), "test": (2, 5)}  # (normal, pneumonia) per split


def make_arrays(size: int = 8, seed: int = 0) -> dict[str, np.ndarray]:
    """A valid MedMNIST-layout dict: uint8 images (N, size, size) and labels (N, 1)."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for split, (n0, n1) in COUNTS.items():
        arrays[f"{split}_images"] = rng.integers(0, 256, (n0 + n1, size, size), dtype=np.uint8)
        labels = rng.permutation(np.r_[np.zeros(n0), np.ones(n1)])
        arrays[f"{split}_labels"] = labels.astype(np.uint8)[:, None]
    return arrays


def write(tmp_path: Path, arrays: dict, name: str = "toy.npz") -> Path:
    path = tmp_path / name
    np.savez(path, **arrays)
    return path


# --------------------------------------------------------------------------- loader


def test_loader_reads_a_valid_file(tmp_path):
    arrays = make_arrays()
    data = load_npz_images(write(tmp_path, arrays))
    assert isinstance(data, ImageDataset) and data.image_size == (8, 8) and data.source == "toy.npz"
    for split in ("train", "val", "test"):
        x, y = data.split(split)
        assert x.dtype == np.uint8 and x.shape == (sum(COUNTS[split]), 8, 8)
        assert y.dtype == np.int64 and y.shape == (sum(COUNTS[split]),)
        np.testing.assert_array_equal(x, arrays[f"{split}_images"])
        np.testing.assert_array_equal(y, arrays[f"{split}_labels"][:, 0])
    table = data.description
    assert table.loc["train", "normal"] == 6 and table.loc["test", "pneumonia"] == 5
    assert table.loc["total", "total"] == 23 and table.loc["val", "% pneumonia"] == 50.0
    assert "8x8 pixels" in data.summary() and "test 7 (2 normal, 5 pneumonia)" in data.summary()


def test_loader_accepts_channel_axis_and_flat_labels(tmp_path):
    arrays = make_arrays()
    arrays["train_images"] = arrays["train_images"][..., None]      # (N, H, W, 1)
    arrays["val_labels"] = arrays["val_labels"][:, 0].astype(np.int32)  # (N,)
    data = load_npz_images(write(tmp_path, arrays))
    assert data.train[0].shape == (10, 8, 8) and data.val[1].shape == (6,)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such image file"):
        load_npz_images(tmp_path / "nothing.npz")


def test_truncated_file(tmp_path):
    path = write(tmp_path, make_arrays())
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ValueError, match="not a readable .npz file.*truncated"):
        load_npz_images(path)


def test_corrupt_bytes_inside_the_file(tmp_path):
    # The zip directory is intact but pixels changed: zip's CRC check catches it when the array is read
    arrays = make_arrays()
    path = write(tmp_path, arrays)
    raw = bytearray(path.read_bytes())
    start = raw.find(arrays["train_images"].tobytes()[:32])
    assert start > 0
    raw[start + 10] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="not a readable .npz file"):
        load_npz_images(path)


def test_not_an_npz_file(tmp_path):
    path = tmp_path / "text.npz"
    path.write_text("these are not images\n")
    with pytest.raises(ValueError, match="not a readable .npz file"):
        load_npz_images(path)


def test_missing_key(tmp_path):
    arrays = make_arrays()
    del arrays["val_labels"]
    with pytest.raises(ValueError, match=r"missing key\(s\) \['val_labels'\]"):
        load_npz_images(write(tmp_path, arrays))


@pytest.mark.parametrize("change, message", [
    (lambda a: a.update(train_images=a["train_images"].astype(np.float32)), "train_images should be uint8"),
    (lambda a: a.update(test_images=np.zeros((7, 8, 8, 3), np.uint8)),
     r"test_images should have shape \(N, H, W\)"),
    (lambda a: a.update(val_images=np.zeros((6, 4, 4), np.uint8)), r"val_images are \(4, 4\) pixels"),
    (lambda a: a.update(val_images=np.zeros((0, 8, 8), np.uint8), val_labels=np.zeros((0, 1), np.uint8)),
     "val_images is empty"),
    (lambda a: a.update(test_labels=a["test_labels"][:-1]), "test has 7 images but 6 labels"),
    (lambda a: a.update(train_labels=np.zeros((10, 2), np.uint8)),
     r"train_labels should have shape \(N, 1\)"),
    (lambda a: a.update(train_labels=a["train_labels"].astype(np.float32)),
     "train_labels should be integers"),
])
def test_wrong_layout(tmp_path, change, message):
    arrays = make_arrays()
    change(arrays)
    with pytest.raises(ValueError, match=message):
        load_npz_images(write(tmp_path, arrays))


def test_labels_outside_0_1(tmp_path):
    arrays = make_arrays()
    arrays["test_labels"][[0, 3]] = [[2], [255]]
    with pytest.raises(ValueError, match=r"0 \(normal\) or 1 \(pneumonia\); found \[2, 255\] in 2 label"):
        load_npz_images(write(tmp_path, arrays))


def test_pneumonia_data_name():
    assert pneumonia_data_name() == "pneumoniamnist_28_balanced"
    assert pneumonia_data_name("official", 28) == "pneumoniamnist_28"
    assert pneumonia_data_name("official", 224) == "pneumoniamnist_224"
    with pytest.raises(ValueError, match="28 pixels only"):
        pneumonia_data_name("balanced", 64)
    with pytest.raises(ValueError, match="official PneumoniaMNIST sizes"):
        pneumonia_data_name("official", 32)
    with pytest.raises(ValueError, match="source must be"):
        pneumonia_data_name("kaggle", 28)


def test_shipped_balanced_file():
    data = load_npz_images(SHIPPED_XRAYS)
    assert data.image_size == (28, 28)
    assert data.description[["normal", "pneumonia"]].to_dict("index") == {
        "train": {"normal": 1214, "pneumonia": 1214}, "val": {"normal": 135, "pneumonia": 135},
        "test": {"normal": 234, "pneumonia": 234}, "total": {"normal": 1583, "pneumonia": 1583}}


def test_subsample_class():
    labels = np.r_[np.zeros(40, int), np.ones(20, int)]
    images = np.arange(60)
    x, y = subsample_class(images, labels, 0, 0.25, np.random.default_rng(0))
    assert (y == 0).sum() == 10 and (y == 1).sum() == 20
    assert np.all(np.diff(x) > 0) and set(x[y == 1]) == set(range(40, 60))  # order kept, class 1 untouched
    with pytest.raises(ValueError, match="fraction"):
        subsample_class(images, labels, 0, 0.0, np.random.default_rng(0))


def test_to_tensor():
    x = to_tensor(np.array([[[0, 255]]], dtype=np.uint8))
    assert x.shape == (1, 1, 1, 2) and x.dtype == torch.float32 and x.flatten().tolist() == [0.0, 1.0]
    with pytest.raises(ValueError, match="uint8 images of shape"):
        to_tensor(np.zeros((2, 3, 3), np.float32))


# --------------------------------------------------------------------------- augmentation


@pytest.fixture
def batch():
    # Images as the lesson has them: uint8 / 255, with black (exactly 0) and white pixels
    pixels = torch.randint(0, 256, (4, 1, 28, 28), generator=torch.Generator().manual_seed(0))
    pixels[:, :, :3] = 0
    pixels[:, :, -3:] = 255
    return pixels.float() / 255


def test_identity_and_rotation_by_zero_leave_images_unchanged(batch):
    assert torch.equal(apply_affine(batch, affine_theta(0.0).expand(4, 2, 3)), batch)
    theta = affine_theta([0.0] * 4, scale=1.0, shift_x=0.0, shift_y=0.0)
    assert torch.equal(apply_affine(batch, theta), batch)


def test_flip_is_exactly_a_flip(batch):
    assert torch.equal(apply_affine(batch, affine_theta(np.zeros(4), flip=True)), batch.flip(-1))
    flips = torch.tensor([True, False, True, False])
    out = apply_affine(batch, affine_theta(np.zeros(4), flip=flips))
    assert torch.equal(out[flips], batch[flips].flip(-1)) and torch.equal(out[~flips], batch[~flips])


def test_rotation_direction_and_shift(batch):
    # 90 degrees counter-clockwise as displayed is torch.rot90(k=1) on (H, W)
    out = apply_affine(batch, affine_theta(np.full(4, 90.0)))
    torch.testing.assert_close(out, torch.rot90(batch, 1, dims=(-2, -1)), atol=1e-6, rtol=0)
    # a shift of 1/28 of the width to the right moves every column by one pixel; zeros come in on the left
    out = apply_affine(batch, affine_theta(0.0, shift_x=1 / 28).expand(4, 2, 3))
    torch.testing.assert_close(out[..., 1:], batch[..., :-1], atol=1e-6, rtol=0)
    assert torch.all(out[..., 0] == 0)
    out = apply_affine(batch, affine_theta(0.0, shift_y=-2 / 28).expand(4, 2, 3))  # two rows up
    torch.testing.assert_close(out[..., :-2, :], batch[..., 2:, :], atol=1e-6, rtol=0)


def test_scale_enlarges_about_the_centre():
    x = torch.zeros(1, 1, 8, 8)
    x[..., 3:5, 3:5] = 1.0                                  # a 2x2 square in the middle
    out = apply_affine(x, affine_theta(0.0, scale=2.0))
    assert torch.all(out[..., 3:5, 3:5] == 1.0) and out.sum() > 2 * x.sum()
    torch.testing.assert_close(out, out.flip(-1).flip(-2))  # still centred


def test_random_affine(batch):
    g = torch.Generator().manual_seed(1)
    out, p = random_affine(batch, g, return_params=True)
    assert out.shape == batch.shape and out.dtype == batch.dtype and not torch.equal(out, batch)
    assert (p["angle"].abs().max() <= 15 and p["shift_x"].abs().max() <= 0.1
            and p["shift_y"].abs().max() <= 0.1)
    assert p["scale"].min() >= 0.9 and p["scale"].max() <= 1.1 and p["flip"].dtype == torch.bool
    again = random_affine(batch, torch.Generator().manual_seed(1))
    assert torch.equal(out, again)                                             # seeded: repeatable
    still = random_affine(batch, g, max_rotation=0, flip_prob=0, max_shift=0, scale_range=(1, 1))
    assert torch.equal(still, batch)                                           # nothing asked, nothing done


def test_affine_errors(batch):
    with pytest.raises(ValueError, match=r"theta must have shape \(4, 2, 3\)"):
        apply_affine(batch, affine_theta(0.0))
    with pytest.raises(ValueError, match=r"expected images \(N, C, H, W\)"):
        apply_affine(batch[:, 0], affine_theta(np.zeros(4)))
    with pytest.raises(ValueError, match="one length"):
        affine_theta([0.0, 1.0], scale=[1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="scale must be positive"):
        affine_theta(0.0, scale=0.0)


# --------------------------------------------------------------------------- intensity and the shifted copy


def test_gaussian_blur_zero_is_the_identity_and_constants_stay(batch):
    assert torch.equal(gaussian_blur(batch, 0.0), batch)
    out = gaussian_blur(batch, torch.tensor([0.0, 0.7, 0.0, 1.5]))          # one sigma per image
    assert torch.equal(out[[0, 2]], batch[[0, 2]]) and not torch.equal(out[1], batch[1])
    flat = torch.full((2, 1, 9, 9), 0.3)
    torch.testing.assert_close(gaussian_blur(flat, 1.0), flat)             # replicate padding: no dark rim
    assert out[3].var() < out[1].var() < batch[1].var()                     # more blur, smoother


def test_gaussian_blur_matches_a_2d_convolution():
    # Away from the edges the separable blur is the 2-D convolution with the outer product of 1-D Gaussians
    x = torch.zeros(1, 1, 15, 15, dtype=torch.float64)
    # an impulse: the output is the kernel
    x[0, 0, 7, 7] = 1.0
    sigma = 1.2
    d = np.arange(-4, 5)
    k = np.exp(-0.5 * (d / sigma) ** 2)
    k /= k.sum()
    expected = np.zeros((15, 15))
    expected[3:12, 3:12] = np.outer(k, k)
    np.testing.assert_allclose(gaussian_blur(x, sigma)[0, 0].numpy(), expected, atol=1e-12)


def test_gaussian_blur_errors(batch):
    with pytest.raises(ValueError, match=r"expected images \(N, C, H, W\)"):
        gaussian_blur(batch[0], 1.0)
    with pytest.raises(ValueError, match="one number or one per image"):
        gaussian_blur(batch, [1.0, 2.0])
    with pytest.raises(ValueError, match=">= 0"):
        gaussian_blur(batch, -1.0)
    wide = gaussian_blur(batch, 20.0)                                        # wider than the image: fine,
    assert torch.all(wide.amax(dim=(2, 3)) - wide.amin(dim=(2, 3)) < 0.5)  # and very flat


def test_adjust_intensity_each_step(batch):
    assert torch.equal(adjust_intensity(batch), batch)                      # the defaults change nothing
    x = torch.tensor([0.0, 0.25, 0.5, 1.0]).reshape(1, 1, 2, 2)
    torch.testing.assert_close(adjust_intensity(x, gamma=2.0), x ** 2)
    torch.testing.assert_close(adjust_intensity(x, brightness=0.1), (x + 0.1).clamp(0, 1))   # clipped at 1
    mid = torch.tensor([0.4, 0.5, 0.5, 0.6]).reshape(1, 1, 2, 2)
    flat = adjust_intensity(mid, contrast=0.5)                               # around the image's own mean 0.5
    torch.testing.assert_close(flat, torch.tensor([0.45, 0.5, 0.5, 0.55]).reshape(1, 1, 2, 2))
    out = adjust_intensity(batch, gamma=torch.tensor([1.0, 0.5, 1.0, 1.0]), contrast=[1.0, 1.0, 0.0, 1.0])
    assert torch.equal(out[[0, 3]], batch[[0, 3]])                          # per-image values
    assert torch.all(out[1] >= batch[1]) and torch.allclose(out[2], batch[2].mean().expand_as(out[2]))
    n1 = adjust_intensity(batch, noise=0.05, generator=torch.Generator().manual_seed(3))
    n2 = adjust_intensity(batch, noise=0.05, generator=torch.Generator().manual_seed(3))
    assert torch.equal(n1, n2) and 0.0 <= n1.min() and n1.max() <= 1.0     # seeded, still in [0, 1]
    inner = (n1 - batch)[(batch > 0.2) & (batch < 0.8)]                      # away from the clipping
    assert 0.04 < inner.std().item() < 0.06


def test_adjust_intensity_errors(batch):
    with pytest.raises(ValueError, match="gamma must be positive"):
        adjust_intensity(batch, gamma=0.0)
    with pytest.raises(ValueError, match="contrast and noise must be >= 0"):
        adjust_intensity(batch, contrast=-1.0)
    with pytest.raises(ValueError, match=r"brightness must be one number or one per image \(4\), got 2"):
        adjust_intensity(batch, brightness=[0.1, 0.2])
    with pytest.raises(ValueError, match="must be finite"):
        adjust_intensity(batch, gamma=float("nan"))
    with pytest.raises(ValueError, match=r"expected images \(N, C, H, W\)"):
        adjust_intensity(batch[:, 0])


def test_random_intensity(batch):
    g = torch.Generator().manual_seed(4)
    big = batch.repeat(50, 1, 1, 1)                                          # 200 images
    out, p = random_intensity(big, g, return_params=True)
    assert out.shape == big.shape and out.dtype == big.dtype and 0 <= out.min() and out.max() <= 1
    assert 0.7 <= p["gamma"].min() and p["gamma"].max() <= 1.4 and 0.7 <= p["contrast"].min() <= 1.3
    assert p["brightness"].abs().max() <= 0.1 and 0 <= p["blur"].min() and p["blur"].max() <= 0.8
    _, wide = random_intensity(torch.zeros(1000, 1, 2, 2), g, gamma=(0.25, 4.0), blur=(0, 0),
                               return_params=True)
    # log-uniform: as likely to darken as to brighten
    assert (wide["gamma"] < 1).float().mean().item() == pytest.approx(0.5, abs=0.06)
    assert wide["gamma"].min() >= 0.25 and wide["gamma"].max() <= 4.0
    torch.testing.assert_close(out, adjust_intensity(big, **p))              # the draws are what was applied
    again = random_intensity(big, torch.Generator().manual_seed(4))
    assert torch.equal(out, again)                                           # seeded: repeatable
    still = random_intensity(batch, g, gamma=(1, 1), contrast=(1, 1), brightness=0.0, blur=(0, 0))
    assert torch.equal(still, batch)                                         # nothing asked, nothing done
    with pytest.raises(ValueError, match=r"gamma must be a range \(low, high\)"):
        random_intensity(batch, g, gamma=(0.0, 1.0))
    with pytest.raises(ValueError, match="contrast must be a range"):
        random_intensity(batch, g, contrast=(1.2, 0.8))
    with pytest.raises(ValueError, match="brightness and noise must be >= 0"):
        random_intensity(batch, g, brightness=-0.1)


def test_shifted_copy():
    images = (np.random.default_rng(0).random((7, 28, 28)) * 255).astype(np.uint8)
    same, params = shifted_copy(images, seed=0)                              # nothing asked: the images back
    assert np.array_equal(same, images) and params.empty
    kw = {"geometry": {"max_rotation": 10.0, "max_shift": 0.05},
          "intensity": {"gamma": (0.6, 1.6), "noise": 0.01}}
    a, pa = shifted_copy(images, seed=5, **kw)
    assert a.dtype == np.uint8 and a.shape == images.shape and not np.array_equal(a, images)
    assert (len(pa) == 7 and list(pa.index) == list(range(7))
            and {"angle", "scale", "gamma", "blur"} <= set(pa))
    assert pa["scale"].eq(1.0).all() and not pa["flip"].any() and pa["angle"].abs().max() <= 10
    assert pa["contrast"].eq(1.0).all() and pa["blur"].eq(0.0).all()        # not asked for: left alone
    assert pa["gamma"].between(0.6, 1.6).all() and pa["gamma"].std() > 0.1
    c, _ = shifted_copy(images, seed=5, **kw)
    d, _ = shifted_copy(images, seed=6, **kw)
    assert np.array_equal(a, c) and not np.array_equal(a, d)                 # fixed by the seed
    with pytest.raises(ValueError, match=r"expected uint8 images of shape \(N, H, W\)"):
        shifted_copy(images.astype(np.float32), seed=0)


# --------------------------------------------------------------------------- model


def test_model_shape_and_parameter_count():
    torch.manual_seed(0)
    model = build_cnn(28, mean=0.5, std=0.25)
    assert model.sizes == [28, 14, 7, 3, 1] and len(model.blocks) == 4
    conv = sum(9 * c_in * c_out + c_out + 2 * c_out
               for c_in, c_out in [(1, 32), (32, 64), (64, 128), (128, 256)])
    dense = (256 * 1 * 1 * 256 + 256) + (256 * 128 + 128) + (128 + 1)
    assert count_parameters(model) == conv + dense == 487_617
    model.eval()
    assert model(torch.rand(5, 1, 28, 28)).shape == (5,)
    assert {"standardize.mean", "standardize.std"} <= set(model.state_dict())


def test_model_adapts_to_the_image_size():
    model = build_cnn(64)
    assert model.sizes == [64, 32, 16, 8, 4] and model.head[0].in_features == 256 * 4 * 4
    assert model.eval()(torch.rand(2, 1, 64, 64)).shape == (2,)
    small = build_cnn(8)                                   # 8 -> 4 -> 2 -> 1: room for three blocks only
    assert small.sizes == [8, 4, 2, 1] and len(small.blocks) == 3 and small.head[0].in_features == 128


def test_standardize_is_applied():
    model = build_cnn(8, mean=0.5, std=0.25).eval()
    x = torch.full((1, 1, 8, 8), 0.75)
    seen = {}
    model.blocks[0][0].register_forward_hook(lambda m, i, o: seen.update(x=i[0]))
    model(x)
    assert torch.allclose(seen["x"], torch.ones_like(x))  # (0.75 - 0.5) / 0.25


def test_image_standardize_removes_brightness_and_contrast():
    x = torch.rand(3, 1, 8, 8, generator=torch.Generator().manual_seed(0)) * 0.5 + 0.2
    z = ImageStandardize()(x)
    torch.testing.assert_close(z.mean(dim=(1, 2, 3)), torch.zeros(3), atol=1e-6, rtol=0)
    assert torch.all((z.std(dim=(1, 2, 3), unbiased=False) - 1).abs() < 0.15)   # 1 up to eps / std
    torch.manual_seed(0)
    model = build_cnn(8, normalize="image").eval()
    assert (isinstance(model.standardize, ImageStandardize)
            and count_parameters(model) == count_parameters(build_cnn(8)))
    # flatter and brighter, in [0, 1]
    other_exposure = 0.8 * (x - x.mean()) + x.mean() + 0.05
    seen = model.standardize(other_exposure) - model.standardize(x)                 # what the first conv gets
    assert seen.abs().max() < 0.05                                                  # the same, up to eps
    # fixed numbers: the change gets through
    dataset = build_cnn(8, mean=0.45, std=0.15).eval()
    assert (dataset.standardize(other_exposure) - dataset.standardize(x)).abs().mean() > 0.2
    with pytest.raises(ValueError, match="normalize must be 'dataset' or 'image'"):
        build_cnn(8, normalize="batch")
    with pytest.raises(ValueError, match="eps must be positive"):
        ImageStandardize(eps=0.0)


def test_predict_proba_ensemble_and_flip():
    x = (torch.rand(5, 8, 8, generator=torch.Generator().manual_seed(1)) * 255).to(torch.uint8).numpy()
    models = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        models.append(build_cnn(8, channels=(4, 8), hidden=(8,), mean=0.5, std=0.3).eval())
    sigmoid = lambda z: 1 / (1 + np.exp(-z))
    p0, p1 = (sigmoid(predict_logits(m, x)) for m in models)
    np.testing.assert_allclose(predict_proba(models[0], x), p0)
    np.testing.assert_allclose(predict_proba(models, x), (p0 + p1) / 2)          # an ensemble: the mean
    mirrored = sigmoid(predict_logits(models[0], x[:, :, ::-1].copy()))
    np.testing.assert_allclose(predict_proba(models[0], x, flip=True), (p0 + mirrored) / 2, rtol=1e-6)
    # the flip did change something
    assert not np.allclose(p0, mirrored)
    with pytest.raises(ValueError, match="non-empty list of models"):
        predict_proba([], x)


# --------------------------------------------------------------------------- training


def toy_data(n: int, seed: int, label_noise: float = 0.0):
    # 8x8 images; pneumonia (1) has a brighter left half; a share of the labels flipped at random
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    x = rng.integers(0, 150, (n, 8, 8))
    x[y == 1, :, :4] += 60
    y = np.where(rng.random(n) < label_noise, 1 - y, y)
    return x.astype(np.uint8), y


def test_train_classifier_stops_early_restores_the_best_epoch_and_repeats():
    # Noisy training labels: the validation loss turns up after a while, and early stopping must act
    train, val = toy_data(128, 0, label_noise=0.3), toy_data(128, 1)

    def run():
        torch.manual_seed(0)
        model = build_cnn(8, channels=(4, 8), hidden=(8,), conv_dropout=0.0, dense_dropout=0.0,
                          mean=0.35, std=0.3)
        history = train_classifier(model, train, val, epochs=12, batch_size=32, lr=1e-2, patience=3,
                                   progress=False, pos_weight=1.5, device="cpu", seed=0)
        return model, history

    model, history = run()
    assert list(history.columns) == ["epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy",
                                     "lr", "seconds", "best"]
    best = history.loc[history["best"], "epoch"].item()
    assert (history["best"].sum() == 1
            and history.loc[history["best"], "val_loss"].item() == history["val_loss"].min())
    assert best < len(history) < 12 and len(history) == best + 3          # stopped 3 epochs after the best
    logits = torch.from_numpy(predict_logits(model, val[0])).float()     # float32, as in training
    restored = torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor(1.5))(logits, torch.tensor(val[1]).float())
    assert restored.item() == pytest.approx(history["val_loss"].min(), rel=1e-6)  # the best weights are back
    assert history["val_accuracy"].max() > 0.8                                   # it learned something
    _, again = run()
    np.testing.assert_array_equal(history["val_loss"], again["val_loss"])        # seeded: repeatable


def test_train_classifier_augments_training_batches_only():
    train, val = toy_data(64, 0), toy_data(32, 1)
    calls = []

    def spy(x, generator):
        calls.append(tuple(x.shape))
        return random_affine(x, generator, flip_prob=0.0)

    torch.manual_seed(0)
    model = build_cnn(8, channels=(4,), hidden=(4,))
    history = train_classifier(model, train, val, epochs=2, batch_size=32, progress=False, augment=spy,
                               device="cpu")
    # 2 batches x 2 epochs, no val
    assert calls == [(32, 1, 8, 8)] * 4 and len(history) == 2


def test_train_classifier_monitors_other_sets_without_choosing_by_them():
    train, val, other = toy_data(64, 0), toy_data(32, 1), toy_data(40, 2)

    def run(monitor):
        torch.manual_seed(0)
        model = build_cnn(8, channels=(4,), hidden=(4,), mean=0.35, std=0.3)
        return model, train_classifier(model, train, val, epochs=3, batch_size=32, progress=False,
                                       device="cpu", monitor=monitor)

    model, history = run({"shifted": other})
    assert list(history.columns) == ["epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy",
                                     "shifted_loss", "shifted_accuracy", "lr", "seconds", "best"]
    logits = torch.from_numpy(predict_logits(model, other[0])).float()
    loss = torch.nn.BCEWithLogitsLoss()(logits, torch.tensor(other[1]).float()).item()
    assert history.loc[history["best"], "shifted_loss"].item() == pytest.approx(loss, rel=1e-5)
    _, plain = run(None)                                                          # watching changes nothing
    np.testing.assert_array_equal(plain["val_loss"], history["val_loss"])
    with pytest.raises(ValueError, match="names must be identifiers"):
        run({"val": other})
    with pytest.raises(ValueError, match=r"expected a pair \(images, labels\)"):
        run({"shifted": (other[0], other[1][:-1])})


def test_train_classifier_judges_validation_with_its_own_weight():
    # pos_weight weights the training loss; val_pos_weight (default: the same) the validation loss
    train, val = toy_data(64, 0), toy_data(32, 1)

    def run(**weights):
        torch.manual_seed(0)
        model = build_cnn(8, channels=(4,), hidden=(4,), mean=0.35, std=0.3)
        history = train_classifier(model, train, val, epochs=2, batch_size=32, progress=False, device="cpu",
                                   patience=5, **weights)
        return model, history

    def loss(model, weight):
        logits = torch.from_numpy(predict_logits(model, val[0])).float()
        return torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor(weight))(
            logits, torch.tensor(val[1]).float()).item()

    weighted, h_weighted = run(pos_weight=0.2)
    assert h_weighted["val_loss"].min() == pytest.approx(loss(weighted, 0.2), rel=1e-5)
    plain, h_plain = run(pos_weight=0.2, val_pos_weight=1.0)
    assert h_plain["val_loss"].min() == pytest.approx(loss(plain, 1.0), rel=1e-5)
    np.testing.assert_array_equal(h_plain["train_loss"], h_weighted["train_loss"])   # training unchanged
    assert not np.allclose(h_plain["val_loss"], h_weighted["val_loss"])


# --------------------------------------------------------------------------- metrics


def test_roc_auc_matches_scikit_learn_row_by_row_with_ties():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, (4, 50))
    prob = np.round(rng.random((4, 50)) * 0.5 + 0.3 * y, 1)               # rounded: many ties
    np.testing.assert_allclose(roc_auc(y, prob), [roc_auc_score(a, b) for a, b in zip(y, prob)], rtol=1e-12)
    assert roc_auc([0, 1, 1], [0.2, 0.9, 0.1]) == pytest.approx(0.5)
    assert np.isnan(roc_auc([1, 1], [0.2, 0.3]))                          # one class: undefined
    with pytest.raises(ValueError, match="one shape"):
        roc_auc([0, 1], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="0 and 1"):
        roc_auc([0, 2], [0.1, 0.2])


def test_auc_gain_is_paired_and_its_standard_error_shrinks_with_more_images():
    def case(n, seed):
        rng = np.random.default_rng(seed)
        y = rng.integers(0, 2, n)
        noise = rng.standard_normal(n)
        good = 2.0 * y + noise                                            # the same noise in both models:
        worse = 1.5 * y + noise + 0.3 * rng.standard_normal(n)            # their errors are correlated
        return y, good, worse

    y, good, worse = case(400, 0)
    gain, se = auc_gain(y, good, worse, n_boot=500)
    assert gain == pytest.approx(roc_auc(y, good) - roc_auc(y, worse))
    assert gain > se > 0
    # paired: far surer than the two AUCs' own spreads would suggest
    idx = np.random.default_rng(1).integers(0, 400, (500, 400))
    unpaired = np.sqrt(np.var(roc_auc(y[idx], good[idx])) + np.var(roc_auc(y[idx], worse[idx])))
    assert se < 0.7 * unpaired
    assert auc_gain(y, good, good) == (0.0, 0.0)                          # a model against itself
    _, se_large = auc_gain(*case(4000, 2), n_boot=500)
    assert se_large < 0.5 * se                                            # about 1 / sqrt(n)
    assert auc_gain(y, good, worse, n_boot=500) == (gain, se)             # seeded: repeatable
    with pytest.raises(ValueError, match="both classes"):
        auc_gain(np.ones(5, int), np.arange(5.0), np.arange(5.0))
    with pytest.raises(ValueError, match="three"):
        auc_gain(y, good[:-1], worse)


def test_binary_metrics_hand_example():
    y = [0, 0, 1, 1, 1, 0]
    prob = [0.1, 0.6, 0.7, 0.4, 0.9, 0.2]     # at 0.5: TN, FP, TP, FN, TP, TN
    m = binary_metrics(y, prob, 0.5)
    assert (m["tp"], m["fp"], m["tn"], m["fn"]) == (2, 1, 2, 1)
    assert m["accuracy"] == pytest.approx(4 / 6) and m["precision"] == pytest.approx(2 / 3)
    assert m["recall"] == pytest.approx(2 / 3) and m["specificity"] == pytest.approx(2 / 3)
    assert m["f1"] == pytest.approx(2 / 3)
    # 8 of the 9 (pneumonia, normal) pairs are ranked right (0.4 < 0.6)
    assert m["auc"] == pytest.approx(8 / 9)
    m = binary_metrics(y, prob, 0.65)          # only 0.7 and 0.9 count as pneumonia
    assert (m["tp"], m["fp"], m["tn"], m["fn"]) == (2, 0, 3, 1) and m["precision"] == 1.0
    assert m["f1"] == pytest.approx(0.8) and m["auc"] == pytest.approx(8 / 9)
    m = binary_metrics(y, prob, 0.95)          # nothing predicted positive: precision 0 by convention
    assert m["precision"] == 0.0 and m["recall"] == 0.0 and m["specificity"] == 1.0 and m["f1"] == 0.0
    with pytest.raises(ValueError, match="same length"):
        binary_metrics([0, 1], [0.5])


def test_youden_threshold():
    y = [0, 0, 1, 1, 1, 0]
    threshold, j = youden_threshold(y, [0.1, 0.3, 0.7, 0.4, 0.9, 0.2])     # perfectly separable at 0.4
    assert threshold == 0.4 and j == 1.0
    threshold, j = youden_threshold(y, [0.1, 0.6, 0.7, 0.4, 0.9, 0.2])     # J = 2/3 at 0.7 and at 0.4
    assert threshold == 0.7 and j == pytest.approx(2 / 3)                   # the higher one wins the tie


# --------------------------------------------------------------------------- Grad-CAM


def test_grad_cam_shape_range_and_cleanup():
    torch.manual_seed(0)
    model = build_cnn(28, mean=0.5, std=0.25)
    x = (torch.rand(6, 28, 28, generator=torch.Generator().manual_seed(2)) * 255).to(torch.uint8).numpy()
    layer = model.blocks[2][2]
    model.train()
    cams, logits = grad_cam(model, x, layer)
    assert cams.shape == (6, 28, 28) and logits.shape == (6,)
    assert cams.min() >= 0.0 and cams.max() <= 1.0
    assert all(c.max() == pytest.approx(1.0) or c.max() == 0.0 for c in cams)   # each map scaled to its peak
    np.testing.assert_allclose(logits, predict_logits(model, x), rtol=1e-5, atol=1e-6)  # evaluation mode used
    assert model.training and not layer._forward_hooks                          # mode restored, hook removed
    assert all(p.grad is None for p in model.parameters())                      # no gradients left behind


def test_grad_cam_finds_the_evidence():
    # A hand-made model. Its "conv layer" has two channels, the left and the right half of the image;
    # the logit is the mean of the left channel. Grad-CAM must light up the left half only.
    class Halves(torch.nn.Module):
        def forward(self, x):                                 # (N, 1, H, W) -> (N, 2, H, W)
            left = torch.zeros_like(x)
            left[..., : x.shape[-1] // 2] = 1.0
            return torch.cat([x * left, x * (1 - left)], dim=1)

    class Toy(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.features = Halves()
            self.bias = torch.nn.Parameter(torch.zeros(()))

        def forward(self, x):
            return self.features(x)[:, 0].mean(dim=(1, 2)) + self.bias

    model = Toy()
    x = np.full((1, 8, 8), 200, np.uint8)
    cams, _ = grad_cam(model, x, model.features, sign=1.0)
    assert np.all(cams[0, :, :3] > 0.9) and np.all(cams[0, :, 5:] < 0.1)    # the left half lights up
    cams, _ = grad_cam(model, x, model.features, sign=-1.0)
    assert np.all(cams == 0.0)                                               # nothing argues for "normal"
