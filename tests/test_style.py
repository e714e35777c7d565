"""dlcourse.style: the losses against direct NumPy formulas and closed-form gradients,
VGG preprocessing against Keras, layer names, bad input, and (slow) the real weights."""

import ast
import importlib.util
import re
import urllib.error
import urllib.request
from pathlib import Path

import h5py
import keras
import numpy as np
import pytest
import tensorflow as tf

from dlcourse import data, style


def rng(seed=0):
    return np.random.default_rng(seed)


def features(h=5, w=4, c=3, seed=0):
    """A float64 feature map (H, W, C) with some zeros, like a ReLU output."""
    return np.maximum(rng(seed).normal(size=(h, w, c)), 0) + rng(seed + 100).random((h, w, c))


@pytest.fixture
def course_data():
    """The ImageNet VGG16 weights and a painting, or a skip that says what is missing:
    a clean clone with neither the mirror (CI has it) nor the network cannot test them."""
    try:
        style.weights_path()
        style.style_image("starry_night", 8)
    except data.MissingDataError as err:
        pytest.skip(f"needs the course's data files: {err}")


def np_gram(F):
    F = np.asarray(F, dtype=np.float64).reshape(-1, np.shape(F)[-1])
    out = np.zeros((F.shape[1], F.shape[1]))
    for k in range(F.shape[0]):  # sum over positions of f f^T, written as the definition
        out += np.outer(F[k], F[k])
    return out


# ----------------------------------------------------------------------------- losses
@pytest.mark.parametrize("batch", [False, True])
@pytest.mark.parametrize("as_tensor", [False, True])
def test_gram_matrix_is_sum_of_outer_products(batch, as_tensor):
    F = features(6, 7, 5)
    x = F[None] if batch else F
    x = tf.constant(x) if as_tensor else x
    G = np.asarray(style.gram_matrix(x))
    assert G.shape == (5, 5)
    np.testing.assert_allclose(G, np_gram(F), rtol=1e-12)
    np.testing.assert_allclose(G, G.T, rtol=1e-12)


def test_gram_matrix_float32_and_int_input():
    F = features().astype(np.float32)
    np.testing.assert_allclose(style.gram_matrix(F), np_gram(F), rtol=1e-5)
    ints = rng().integers(0, 5, (3, 3, 2))
    np.testing.assert_allclose(style.gram_matrix(ints), np_gram(ints), rtol=1e-6)


def test_content_loss_formula_and_gradient():
    F, P = features(seed=1), features(seed=2)
    np.testing.assert_allclose(style.content_loss(F, P), 0.5 * ((F - P) ** 2).sum(), rtol=1e-12)
    np.testing.assert_allclose(style.content_loss(F[None], P), 0.5 * ((F - P) ** 2).sum())
    x = tf.Variable(F)
    with tf.GradientTape() as tape:
        loss = style.content_loss(x, P)
    np.testing.assert_allclose(tape.gradient(loss, x), F - P, rtol=1e-12)  # dL/dF = F - P


def test_layer_style_loss_formula():
    F, S = features(5, 4, 3, seed=3), features(5, 4, 3, seed=4)
    N, M = 3, 20
    expected = ((np_gram(F) - np_gram(S)) ** 2).sum() / (4 * N**2 * M**2)
    np.testing.assert_allclose(style.layer_style_loss(F, S), expected, rtol=1e-12)
    np.testing.assert_allclose(style.layer_style_loss(F[None], tf.constant(S[None])), expected,
                               rtol=1e-12)
    assert float(style.layer_style_loss(F, F)) == 0.0


def test_layer_style_loss_gradient_matches_the_papers_closed_form():
    # Gatys et al., eq. 6: dE/dF = F (G - A) / (N^2 M^2) with F as (M, N), where F > 0.
    F, S = features(4, 6, 5, seed=5), features(4, 6, 5, seed=6)
    N, M = 5, 24
    x = tf.Variable(F)
    with tf.GradientTape() as tape:
        loss = style.layer_style_loss(x, S)
    grad = tape.gradient(loss, x).numpy().reshape(M, N)
    flat = F.reshape(M, N)
    closed = flat @ (np_gram(F) - np_gram(S)) / (N**2 * M**2)
    np.testing.assert_allclose(grad, closed, rtol=1e-10)


def test_layer_style_loss_other_size_rescales_the_style_gram():
    F, S = features(4, 4, 3, seed=7), features(6, 8, 3, seed=8)
    M, N = 16, 3
    expected = ((np_gram(F) - np_gram(S) * M / 48) ** 2).sum() / (4 * N**2 * M**2)
    np.testing.assert_allclose(style.layer_style_loss(F, S), expected, rtol=1e-12)
    # the same texture tiled twice has the same (rescaled) Gram matrix: zero loss
    tiled = np.concatenate([F, F], axis=0)
    assert abs(float(style.layer_style_loss(F, tiled))) < 1e-12


def test_style_loss_weights():
    feats = {f"l{i}": features(3, 3, 2 + i, seed=i) for i in range(3)}
    targets = {f"l{i}": features(3, 3, 2 + i, seed=10 + i) for i in range(3)}
    parts = [float(style.layer_style_loss(feats[k], targets[k])) for k in targets]
    np.testing.assert_allclose(style.style_loss(feats, targets), np.mean(parts), rtol=1e-12)
    w = [0.5, 0.0, 2.0]
    expected = float(np.dot(w, parts))
    np.testing.assert_allclose(style.style_loss(feats, targets, w), expected, rtol=1e-12)
    as_dict = dict(zip(targets, w, strict=True))
    np.testing.assert_allclose(style.style_loss(feats, targets, as_dict), expected, rtol=1e-12)
    with pytest.raises(ValueError, match="2 weights for 3 style layers"):
        style.style_loss(feats, targets, [1, 2])
    with pytest.raises(ValueError, match="lacks the style layers"):
        style.style_loss({"l0": feats["l0"]}, targets)


def test_total_variation_loss_formula():
    x = rng(9).random((1, 5, 6, 3)) * 255
    img = x[0]
    expected = sum(((img[i + 1, j] - img[i, j]) ** 2).sum() for i in range(4) for j in range(6))
    expected += sum(((img[i, j + 1] - img[i, j]) ** 2).sum() for i in range(5) for j in range(5))
    np.testing.assert_allclose(style.total_variation_loss(x), expected, rtol=1e-12)
    assert float(style.total_variation_loss(np.full((4, 4, 3), 7.0))) == 0.0


@pytest.mark.parametrize("fn", [style.gram_matrix, lambda F: style.content_loss(F, F),
                                lambda F: style.layer_style_loss(F, F),
                                style.total_variation_loss])
@pytest.mark.parametrize("bad, error, match", [
    (np.zeros((4, 4)), ValueError, r"got shape \(4, 4\)"),
    (np.zeros((2, 4, 4, 3)), ValueError, r"\(1, H, W, C\) or a 3-D array \(H, W, C\)"),
    (np.zeros((1, 1, 4, 4, 3)), ValueError, r"got shape \(1, 1, 4, 4, 3\)"),
    ("features", TypeError, "numbers"),
    (np.zeros((0, 4, 3)), ValueError, "empty"),
])
def test_losses_reject_bad_feature_maps(fn, bad, error, match):
    with pytest.raises(error, match=match):
        fn(bad)


def test_losses_reject_mismatched_pairs():
    with pytest.raises(ValueError, match="same shape"):
        style.content_loss(features(4, 4, 3), features(4, 5, 3))
    with pytest.raises(ValueError, match="same number of channels"):
        style.layer_style_loss(features(4, 4, 3), features(4, 4, 2))


# ----------------------------------------------------------------------------- VGG plumbing
def test_preprocess_matches_keras_and_round_trips():
    img = rng(1).integers(0, 256, (7, 9, 3)).astype(np.uint8)
    ours = style.preprocess(img).numpy()
    reference = keras.applications.vgg16.preprocess_input(img[None].astype(np.float32))
    assert ours.shape == (1, 7, 9, 3)
    np.testing.assert_allclose(ours, reference, atol=1e-4)
    np.testing.assert_array_equal(style.deprocess(ours), img)
    np.testing.assert_array_equal(style.deprocess(ours[0]), img)
    # deprocess clips what optimisation pushes out of range
    assert style.deprocess(np.full((2, 2, 3), 1e4)).max() == 255


@pytest.mark.parametrize("bad, match", [(np.zeros((4, 4)), r"\(H, W, 3\)"),
                                        (np.zeros((4, 4, 4)), r"\(H, W, 3\)"),
                                        (np.zeros((2, 4, 4, 3)), r"\(1, H, W, 3\)")])
def test_preprocess_rejects_bad_images(bad, match):
    with pytest.raises(ValueError, match=match):
        style.preprocess(bad)
    with pytest.raises(TypeError, match="path"):
        style.preprocess("photo.jpg")


def test_layer_names_both_conventions():
    assert style.layer_names("vgg16")[:3] == ["block1_conv1", "block1_conv2", "block2_conv1"]
    assert len(style.layer_names("vgg16")) == 13 and len(style.layer_names("vgg19")) == 16
    for net in style.NETS:
        for name in style.layer_names(net):
            assert style.keras_name(style.paper_name(name), net) == name
            assert style.keras_name(name, net) == name
    assert style.keras_name("conv4_2") == "block4_conv2"
    assert style.keras_name("conv3_4", "vgg19") == "block3_conv4"


@pytest.mark.parametrize("layer", ["conv3_4", "block6_conv1", "pool1", "conv4"])
def test_unknown_layer_lists_valid_names(layer):
    with pytest.raises(ValueError, match="valid layers: block1_conv1 \\(conv1_1\\)") as err:
        style.feature_extractor([layer], net="vgg16", weights="random")
    assert "block4_conv2 (conv4_2)" in str(err.value) and layer in str(err.value)


def test_bad_net_and_weights():
    with pytest.raises(ValueError, match="net must be one of 'vgg16', 'vgg19'; got 'resnet'"):
        style.feature_extractor(["conv1_1"], net="resnet")
    with pytest.raises(ValueError, match="'imagenet', 'random' or a path"):
        style.feature_extractor(["conv1_1"], weights=None)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        style.feature_extractor(["conv1_1"], weights="/no/such/file.h5")
    with pytest.raises(ValueError, match="at least one layer"):
        style.feature_extractor([], weights="random")


@pytest.mark.slow  # half a second or more
def test_random_weights_only_when_asked_and_announced(capsys):
    ex = style.feature_extractor(["conv1_1", "conv4_2"], weights="random")
    assert "random" in capsys.readouterr().out.lower() and "random" in ex.description
    out = ex(rng().uniform(0, 255, (32, 32, 3)))
    assert list(out) == ["conv1_1", "conv4_2"]
    assert out["conv1_1"].shape == (1, 32, 32, 64) and out["conv4_2"].shape == (1, 4, 4, 512)
    assert (out["conv4_2"].numpy() >= 0).all()  # activations after ReLU


@pytest.mark.parametrize("layers, net, expected", [
    (style.STYLE_LAYERS, "vgg16", (16, "conv5_1")),
    (["conv4_2", "block1_conv1"], "vgg16", (8, "conv4_2")),
    (["conv1_2"], "vgg16", (1, "conv1_2")),
    (["conv3_4"], "vgg19", (4, "conv3_4")),
])
def test_min_side_counts_the_pools_before_the_deepest_layer(layers, net, expected):
    assert style.min_side(layers, net) == expected


@pytest.mark.slow  # half a second or more
def test_min_side_is_where_the_deepest_map_shrinks_to_one_pixel():
    # the independent reference: Keras' own VGG16 on an image of exactly that side
    ex = style.feature_extractor(["conv3_1", "conv4_2", "conv5_1"], weights="random")
    for layer, channels in (("conv4_2", 512), ("conv5_1", 512), ("conv3_1", 256)):
        need, _ = style.min_side([layer])
        assert ex(np.zeros((need, need, 3)))[layer].shape == (1, 1, 1, channels)


def test_garbage_weights_file_names_the_file_and_the_repair(tmp_path, monkeypatch):
    garbage = tmp_path / "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"
    garbage.write_bytes(b"not HDF5 at all " * 64)
    # vgg19: the test mirror holds only VGG16, so no earlier test has a good VGG19 loaded
    monkeypatch.setattr(data, "fetch_one", lambda *args, **kwargs: garbage)
    repair = "Repair it with: python -m dlcourse.data verify --repair vgg19"
    with pytest.raises(data.CorruptDataError, match=repair) as err:
        style.feature_extractor(["conv1_1"], net="vgg19")
    assert str(garbage) in str(err.value) and "\n" not in str(err.value)


@pytest.mark.slow  # half a second or more
def test_weights_file_of_the_wrong_kind_is_named(tmp_path):
    (tmp_path / "garbage.h5").write_bytes(b"\0" * 4096)
    with pytest.raises(data.CorruptDataError, match="garbage.h5 is not a readable VGG16"):
        style.feature_extractor(["conv1_1"], weights=tmp_path / "garbage.h5")
    with h5py.File(tmp_path / "other.h5", "w") as f:  # valid HDF5, but not VGG16's layers
        f["x"] = np.zeros(3)
    with pytest.raises(data.CorruptDataError, match="other.h5 .*no-top vgg16 weights"):
        style.feature_extractor(["conv1_1"], weights=tmp_path / "other.h5")


def test_vgg19_offline_stops_with_the_data_layers_message(data_cache, monkeypatch):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network (test)")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(data.MissingDataError, match="python -m dlcourse.data fetch vgg19"):
        style.feature_extractor(["conv1_1"], net="vgg19")


# ----------------------------------------------------------------------------- transfer args
IMG = np.full((32, 32, 3), 128.0)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"steps": 0}, ValueError, "steps"),
    ({"optimizer": "sgd"}, ValueError, "adam"),
    ({"alpha": -1}, ValueError, "alpha"),
    ({"beta": "big"}, TypeError, "beta"),
    ({"init": "zeros"}, ValueError, "init"),
    ({"init": np.zeros((8, 8, 3))}, ValueError, "init has shape"),
    ({"size": 8}, ValueError, "size"),
    ({"size": 15}, ValueError, "size=15 is too small: style transfer through conv5_1 needs "
                               "at least 16×16 px"),
    ({"size": "32"}, TypeError, "size must be an integer"),
    # a NumPy integer is a size: it gets as far as comparing the shape of init
    ({"size": np.int64(20), "init": np.zeros((8, 8, 3))}, ValueError,
     r"init has shape \(8, 8, 3\), the image to generate is \(20, 20, 3\)"),
    ({"seed": "abc"}, TypeError, "seed must be a whole number >= 0, got 'abc'"),
    ({"seed": -1}, ValueError, "seed must be >= 0, got -1"),
    ({"steps": 2.5}, TypeError, "steps must be an integer"),
    ({"callback_every": 0}, ValueError, "callback_every must be at least 1"),
    ({"content_layers": ["conv9_9"]}, ValueError, "valid layers"),
])
def test_transfer_rejects_bad_arguments(kwargs, error, match):
    args = {"content": IMG, "style": IMG, "steps": 3, **kwargs}
    with pytest.raises(error, match=match):
        style.transfer(**args, weights="random", progress=False)


@pytest.mark.slow
def test_transfer_takes_numpy_integers():
    img, hist = style.transfer(IMG, IMG, np.int64(2), size=np.int64(20),
                               content_layers=["conv1_1"], style_layers=["conv1_1"],
                               weights="random", seed=np.int64(1), progress=False)
    assert img.shape == (20, 20, 3) and len(hist["total"]) == 2


@pytest.mark.parametrize("where, value", [("content", np.nan), ("style", np.inf),
                                          ("init", -np.inf)])
def test_transfer_refuses_non_finite_pixels(where, value):
    bad = IMG.copy()
    bad[3, 5, 1] = value
    args = {"content": IMG, "style": IMG, where: bad}
    with pytest.raises(ValueError, match=f"{where} must hold finite numbers; NaN or infinite "
                                         f"values: 1 of 3072, the first {where}\\[3, 5, 1\\]"):
        style.transfer(**args, steps=2, weights="random", progress=False)


def test_an_image_full_of_nan_is_refused_not_painted_black():
    nan = np.full((32, 32, 3), np.nan)
    with pytest.raises(ValueError, match="content must hold finite numbers; NaN or infinite "
                                         "values: 3072 of 3072"):
        style.transfer(nan, None, 2, weights="random", progress=False)
    ex = style.feature_extractor(["conv1_1"], weights="random")
    with pytest.raises(ValueError, match="style must hold finite numbers; NaN or infinite "
                                         "values: 3072 of 3072"):
        style.make_objective(ex, IMG, nan, content_layers=["conv1_1"], style_layers=["conv1_1"])


def test_transfer_says_the_image_is_too_small_before_tensorflow_runs():
    tiny = np.full((8, 8, 3), 128.0)
    with pytest.raises(ValueError, match="the content image is 8×8 px; style transfer through "
                                         "conv5_1 needs at least 16×16"):
        style.transfer(tiny, IMG, 2, weights="random", progress=False)
    with pytest.raises(ValueError, match="the style image is 8×12 px; style transfer through "
                                         "conv5_1 needs at least 16×16"):
        style.transfer(IMG, np.full((8, 12, 3), 9.0), 2, weights="random", progress=False)
    ex = style.feature_extractor(["conv4_2", "conv5_1"], weights="random")
    with pytest.raises(ValueError, match="the content image is 8×8 px"):
        style.make_objective(ex, tiny, IMG, content_layers=["conv4_2"], style_layers=["conv5_1"])
    # content alone, through conv4_2: three pools, so 7×7 is not enough
    with pytest.raises(ValueError, match="7×7 px; style transfer through conv4_2 needs at "
                                         "least 8×8"):
        style.transfer(tiny[:7, :7], None, 1, weights="random", progress=False)


def test_transfer_needs_an_image_and_a_size():
    with pytest.raises(ValueError, match="content image, a style image, or both"):
        style.transfer(None, None, 3)
    with pytest.raises(ValueError, match="give size="):
        style.transfer(None, IMG, 3)
    with pytest.raises(ValueError, match="needs a content image"):
        style.transfer(None, IMG, 3, size=32, init="content")


def test_images():
    photo = style.content_image("coffee", 48)
    assert photo.shape == (48, 48, 3) and photo.dtype == np.float32
    assert 0 <= photo.min() and photo.max() <= 255 and photo.std() > 10
    with pytest.raises(ValueError, match="astronaut"):
        style.content_image("lena")
    with pytest.raises(ValueError, match="great_wave"):
        style.style_image("mona_lisa")
    square = style.center_square(np.zeros((10, 30, 3)))
    assert square.shape == (10, 10, 3)
    np.testing.assert_array_equal(style.to_uint8(np.array([[[-3.0, 100.4, 300.0]]])),
                                  [[[0, 100, 255]]])


# ----------------------------------------------------------------------------- real weights
@pytest.mark.slow
def test_vgg16_weights_fingerprint(course_data):
    """The weights the data layer hands out hold exactly the published values."""
    ex = style.feature_extractor(["conv1_1"])
    assert "ImageNet" in ex.description
    expected = "d9a27cc1fc7f975ef8cff49180e794ccd7c4bc868ebb49740803b3bbaa8dbefd"
    assert style.weights_fingerprint(ex) == expected


@pytest.mark.slow
def test_extractor_matches_keras_vgg16_on_keras_preprocessing(course_data):
    ex = style.feature_extractor(["conv1_1", "conv4_2"])
    ref = keras.applications.VGG16(include_top=False, weights=str(style.weights_path()),
                                   input_shape=(None, None, 3))
    probe = keras.Model(ref.input, ref.get_layer("block4_conv2").output)
    img = style.content_image("chelsea", 64)
    expected = probe(keras.applications.vgg16.preprocess_input(img[None].copy())).numpy()
    got = ex(img)["conv4_2"].numpy()
    assert got.shape == (1, 8, 8, 512)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-3)


@pytest.mark.slow
@pytest.mark.parametrize("optimizer", ["adam", "lbfgs"])
def test_transfer_lowers_the_loss_on_an_exact_budget(optimizer, course_data):
    content, painting = style.content_image("astronaut", 48), style.style_image("starry_night", 48)
    seen = []
    img, hist = style.transfer(content, painting, 12, optimizer=optimizer, size=48,
                               callback=lambda n, image, parts: seen.append(n),
                               callback_every=4, progress=False, learning_rate=10.0)
    assert img.shape == (48, 48, 3) and img.dtype == np.uint8
    assert len(hist["total"]) == 12 and seen == [4, 8, 12]  # exactly the budget
    np.testing.assert_allclose(hist["total"], hist["content"] + hist["style"] + hist["tv"],
                               rtol=1e-5)
    assert hist["best"][-1] < hist["total"][0] / 3


def test_fit_shorter_side_and_png():
    wide = rng(2).uniform(0, 255, (10, 30, 3))
    assert style.fit_shorter_side(wide, 5).shape == (5, 15, 3)
    assert style.fit_shorter_side(wide.transpose(1, 0, 2), 20).shape == (60, 20, 3)
    assert style.resize(wide, np.int64(4)).shape == (4, 4, 3)
    with pytest.raises(ValueError, match="shape must be at least 1"):
        style.resize(wide, (0, 5))
    with pytest.raises(TypeError, match="image must hold real numbers"):
        style.to_uint8(np.full((2, 2, 3), "x"))
    from io import BytesIO

    from PIL import Image

    img = style.to_uint8(wide)
    np.testing.assert_array_equal(np.asarray(Image.open(BytesIO(style.png_bytes(img)))), img)


@pytest.mark.slow
def test_widget_runs_and_redraws():
    photo = rng(3).uniform(0, 255, (32, 32, 3))
    box, run = style.explore(photo, {"noise": photo[::-1]}, 32, max_steps=10, weights="random",
                             progress=False)
    picture, status = box.children[1], box.children[2]
    assert bytes(picture.value) == b"" and "press" in status.value  # nothing runs until asked
    run(log10_ratio=-2.0, steps=10)
    assert bytes(picture.value).startswith(b"\x89PNG") and "done" in status.value
    assert "random filters" in status.value  # the network is named with the result


@pytest.mark.slow  # about a second or more: traces VGG16 objectives
def test_objectives_share_one_trace_and_match_the_losses():
    """A new painting, weight or α does not trace VGG's gradient again, and the shared
    graph still computes each objective's own loss (checked against the loss functions)."""
    ex = style.feature_extractor(["conv1_1", "conv2_1"], weights="random")
    photo, x = rng(1).uniform(0, 255, (16, 16, 3)), rng(3).uniform(0, 255, (1, 16, 16, 3))
    paintings = [rng(2).uniform(0, 255, (16, 16, 3)), rng(4).uniform(0, 255, (16, 16, 3))]
    setups = [(paintings[0], 1e-3, [0.5, 0.5]),
              (paintings[1], 1.0, {"conv1_1": 0.9, "conv2_1": 0.1})]
    for painting, alpha, weights in setups:
        objective = style.make_objective(ex, photo, painting, alpha=alpha, beta=2.0,
                                         content_layers=["conv2_1"],
                                         style_layers=["conv1_1", "conv2_1"],
                                         style_weights=weights)
        _, c_term, s_term, _, _ = objective(tf.constant(x, tf.float32))
        feats, painted = ex(x), ex(painting)
        targets = {n: painted[n] for n in ("conv1_1", "conv2_1")}
        want_s = 2.0 * float(style.style_loss(feats, targets, weights))
        want_c = alpha * float(style.content_loss(feats["conv2_1"], ex(photo)["conv2_1"]))
        np.testing.assert_allclose([float(c_term), float(s_term)], [want_c, want_s], rtol=1e-5)
    assert objective.trace_count() == 1


def test_importing_the_package_loads_no_heavy_library_and_every_name_resolves():
    """`import dlcourse.style` took 10.8 s (TensorFlow, Keras, matplotlib, ipywidgets);
    each name now loads its module on first use."""
    import subprocess
    import sys

    script = ("import sys, dlcourse.style as s; "
              "print(sorted(m for m in ('tensorflow', 'keras', 'matplotlib', 'ipywidgets') "
              "if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            check=True).stdout.strip()
    assert loaded == "[]", f"import dlcourse.style loaded {loaded}"
    assert set(style.__all__) == set(style.MODULE_OF)
    for name in style.__all__:
        assert getattr(style, name) is not None
    assert callable(style.transfer) and style.transfer.__name__ == "transfer"


# ----------------------------------------------------------------------------- the paper's network
@pytest.mark.slow
def test_normalize_gives_every_filter_mean_activation_one_and_keeps_the_pattern(course_data):
    """Gatys et al. rescaled each filter to mean activation 1; with ReLU that divides each
    feature map by its old mean and changes nothing else."""
    plain = style.feature_extractor(["conv1_1", "conv3_1", "conv5_1"])
    scaled = style.feature_extractor(["conv1_1", "conv3_1", "conv5_1"], normalize=True)
    means = style.filter_means(plain)
    for name, mean in style.filter_means(scaled).items():
        fired = means[name] > 0
        np.testing.assert_allclose(mean[fired], 1.0, rtol=1e-3)
    img = style.content_image("coffee", 48)  # not one of the photos the means came from
    got, want = scaled(img), plain(img)
    for layer in ("conv1_1", "conv3_1", "conv5_1"):
        old = means[style.keras_name(layer)]
        expected = want[layer].numpy() / np.where(old > 0, old, 1.0)
        np.testing.assert_allclose(got[layer].numpy(), expected, rtol=1e-3,
                                   atol=1e-4 * expected.max())
    assert "normalised to mean activation 1" in scaled.description
    # the published filters are left as they were
    assert style.weights_fingerprint(plain) == style.weights_fingerprint(
        style.feature_extractor(["conv1_1"]))


@pytest.mark.slow
def test_normalize_narrows_the_per_layer_style_loss_spread(course_data):
    """Issue #27: on the published filters the per-layer style losses of noise against a
    painting span four orders of magnitude (conv1_1 and conv5_1 under 0.01 % of the sum)."""
    photo = style.content_image("astronaut", 96)
    noise = style.initial_image("noise", photo, seed=0)
    painting = style.style_image("great_wave", 96)

    def spread(normalize):
        ex = style.feature_extractor(style.STYLE_LAYERS, normalize=normalize)
        f, s = ex(noise), ex(painting)
        e = [float(style.layer_style_loss(f[n], s[n])) for n in style.STYLE_LAYERS]
        return max(e) / min(e)

    before, after = spread(False), spread(True)
    assert before > 1e3 and after < before / 10, (before, after)


@pytest.mark.slow  # half a second or more
def test_average_pooling_replaces_every_max_pooling_and_keeps_the_filters():
    ex = style.feature_extractor(["conv1_2", "conv2_1"], weights="random", pooling="avg")
    kinds = {type(layer).__name__ for layer in ex.base.layers}
    assert "AveragePooling2D" in kinds and "MaxPooling2D" not in kinds
    x = rng(5).uniform(0, 255, (1, 8, 8, 3))
    out = ex(x)
    pooled = tf.nn.avg_pool2d(out["conv1_2"], 2, 2, "VALID")
    expected = ex.base.get_layer("block2_conv1")(pooled)  # the same filters, after avg pooling
    np.testing.assert_allclose(out["conv2_1"], expected, rtol=1e-5, atol=1e-5)
    assert "average pooling" in ex.description
    with pytest.raises(ValueError, match="pooling must be one of"):
        style.feature_extractor(["conv1_1"], weights="random", pooling="min")
    with pytest.raises(TypeError, match="normalize must be True or False"):
        style.feature_extractor(["conv1_1"], weights="random", normalize="yes")


def test_initial_image():
    photo = rng(1).uniform(0, 255, (6, 5, 3)).astype(np.float32)
    noise = style.initial_image("noise", photo, seed=3)
    assert noise.shape == (6, 5, 3) and 0 <= noise.min() and noise.max() <= 255
    np.testing.assert_array_equal(noise, style.initial_image("noise", shape=(6, 5), seed=3))
    assert not np.array_equal(noise, style.initial_image("noise", photo, seed=4))
    np.testing.assert_array_equal(style.initial_image("content", photo), photo)
    with pytest.raises(ValueError, match="shape"):
        style.initial_image("noise")


# ----------------------------------------------------------------------------- learners' losses
def tensor_gram(F):
    flat = tf.reshape(F, (-1, F.shape[-1]))
    return tf.matmul(flat, flat, transpose_a=True)


def tensor_style_loss(F, S, gram=tensor_gram):
    n, m = F.shape[-1], int(np.prod(F.shape[:-1]))
    return tf.reduce_sum((gram(F) - gram(S)) ** 2) / (4 * n**2 * m**2)


def outer_gram(F):  # a wrong answer: positions × positions instead of channels × channels
    flat = tf.reshape(F, (-1, F.shape[-1]))
    return tf.matmul(flat, flat, transpose_b=True)


@pytest.mark.slow  # about a second or more: traces a VGG16 objective
def test_the_objective_runs_on_the_callers_losses():
    """Issue #27: the learner's functions drive the transfer, so a wrong one changes the
    loss and the gradient (the picture), and a right one changes nothing."""
    ex = style.feature_extractor(["conv1_1", "conv2_1"], weights="random")
    photo, painting = rng(1).uniform(0, 255, (16, 16, 3)), rng(2).uniform(0, 255, (16, 16, 3))
    x = tf.constant(rng(3).uniform(0, 255, (1, 16, 16, 3)), tf.float32)
    setup = {"content_layers": ["conv2_1"], "style_layers": ["conv1_1", "conv2_1"]}

    def run(**losses):
        total, c, s, _, grad = style.make_objective(ex, photo, painting, **setup, **losses)(x)
        return np.array([float(c), float(s)]), grad.numpy()

    package, package_grad = run()
    mine, mine_grad = run(content_loss_fn=lambda F, P: 0.5 * tf.reduce_sum((F - P) ** 2),
                          layer_style_loss_fn=tensor_style_loss)
    np.testing.assert_allclose(mine, package, rtol=1e-4)
    np.testing.assert_allclose(mine_grad, package_grad, rtol=1e-3, atol=1e-3 * abs(
        package_grad).max())
    wrong, wrong_grad = run(layer_style_loss_fn=lambda F, S: tensor_style_loss(F, S, outer_gram))
    assert abs(wrong[1] / package[1] - 1) > 0.1
    assert np.abs(wrong_grad - package_grad).max() > 0.1 * np.abs(package_grad).max()


def checks_not_done(F, P):
    raise NotImplementedError("exercise 1")


@pytest.mark.parametrize("fn, error, match", [
    (lambda F, P: float(np.sum((np.asarray(F) - np.asarray(P)) ** 2)), TypeError,
     "content_loss_fn returned float with no gradient.*tf.reshape"),
    (lambda F, P: (F - P) ** 2, ValueError, "content_loss_fn must return one number"),
    (lambda F, P: 1 / 0, TypeError, "content_loss_fn failed on TensorFlow tensors "
                                    r"\(ZeroDivisionError"),
    ("not a function", TypeError, "content_loss_fn must be a function"),
    (checks_not_done, NotImplementedError, "exercise 1"),  # the lesson says "not done yet"
])
@pytest.mark.slow  # half a second or more
def test_a_loss_that_cannot_drive_the_transfer_is_named(fn, error, match):
    with pytest.raises(error, match=match):
        style.transfer(IMG, IMG, 1, content_loss_fn=fn, weights="random", progress=False)


# ----------------------------------------------------------------------------- widget, lesson
def test_widget_steps_slider_has_a_range_for_a_short_maximum():
    """Issue #27: quick mode's slider had min = max = 10."""
    box, _ = style.explore(IMG, {"grey": IMG}, 32, max_steps=10, init="content",
                           weights="random")
    controls = {c.description: c for c in box.children[0].children if hasattr(c, "description")}
    steps = controls["steps"]
    assert steps.min < steps.max == 10 and controls["start from"].value == "content"
    with pytest.raises(ValueError, match="init must be one of"):
        style.explore(IMG, {"grey": IMG}, 32, max_steps=10, init="zeros")


LESSON = Path(__file__).parents[1] / "course" / "06_style_transfer.py"


def test_lesson_passes_its_seed_to_every_transfer():
    source = LESSON.read_text(encoding="utf-8")
    tree = ast.parse(source)
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call)
             and ast.unparse(node.func) in ("style.transfer", "style.explore")]
    assert len(calls) >= 8
    for call in calls:
        keywords = {k.arg: ast.unparse(k.value) for k in call.keywords}
        assert keywords.get("seed") == "SEED", f"line {call.lineno} does not pass seed=SEED"
    assert re.search(r"^SEED = \d+", source, re.MULTILINE)


def test_lesson_states_the_benchmarks_budget():
    """The lesson said the benchmark races on larger budgets than its own: it did not."""
    spec = importlib.util.spec_from_file_location(
        "style_benchmark", Path(__file__).parents[1] / "benchmarks" / "style.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    default = bench.parser().get_default("budget")
    source = LESSON.read_text(encoding="utf-8")
    full = int(re.search(r"^BUDGET = \d+ if QUICK else (\d+)", source, re.MULTILINE)[1])
    text = " ".join(line.lstrip("# ") for line in source.splitlines())
    assert default < full and f"{default} by default, fewer than full mode's {full}" in text
