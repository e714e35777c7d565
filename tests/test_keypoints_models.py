"""dlcourse.keypoints models and training: shapes, the soft-argmax head, counts, a short fit."""

import numpy as np
import pytest

from dlcourse import opcount
from dlcourse.keypoints import (
    SIZE,
    hard_argmax,
    make_faces,
    models,
    predict_pixels,
    scale_targets,
    soft_argmax,
    train,
    unscale_targets,
)


@pytest.mark.slow  # about a second or more: builds each Keras model
@pytest.mark.parametrize("build", [models.plain_encoder, models.sumnet, models.recombinator])
def test_models_map_images_to_30_scaled_numbers_and_are_fully_counted(build):
    model = build()
    x = np.random.default_rng(0).random((2, SIZE, SIZE, 1), dtype=np.float32)
    y = model.predict(x, verbose=0)
    assert y.shape == (2, 30)
    assert np.abs(y).max() <= 1.0 + 1e-6
    count = opcount.count_ops(model)
    assert not count.not_counted
    assert count.params == model.count_params()
    assert count.macs > 0


def test_soft_argmax_head_matches_numpy():
    import keras

    rng = np.random.default_rng(1)
    inp = keras.Input((SIZE, SIZE, 2))
    head = keras.Model(inp, models.soft_argmax_head(inp))
    maps = rng.normal(0, 2, (3, SIZE, SIZE, 2)).astype(np.float32)
    got = unscale_targets(head.predict(maps, verbose=0)).reshape(3, 2, 2)
    want = soft_argmax(np.moveaxis(maps, -1, 1))
    np.testing.assert_allclose(got, want, atol=2e-3)
    assert not head.trainable_weights  # the coordinate grid is frozen


@pytest.mark.slow  # about a second or more: builds and runs a Keras model
def test_predict_pixels_equals_keras_predict_across_batches():
    x, _ = make_faces(5, seed=3)
    model = models.sumnet()
    want = unscale_targets(model.predict(x, verbose=0))
    np.testing.assert_allclose(predict_pixels(model, x, batch_size=2), want, atol=1e-3)
    assert predict_pixels(model, x[:1]).shape == (1, 30)


def test_coordinate_grid_is_the_scaled_pixel_position():
    grid = models.coordinate_grid(96)
    assert grid.shape == (96 * 96, 2)
    np.testing.assert_allclose(grid[5 * 96 + 7], scale_targets(np.array([7.0, 5.0])))


def test_upsample_repeat_equals_keras_and_numpy_kron():
    import keras

    x = np.arange(2 * 3 * 4 * 2, dtype=np.float32).reshape(2, 3, 4, 2)
    got = models.upsample_repeat(x, 2)
    np.testing.assert_array_equal(got, keras.layers.UpSampling2D(2)(x).numpy())
    np.testing.assert_array_equal(got[1, :, :, 1], np.kron(x[1, :, :, 1], np.ones((2, 2))))
    with pytest.raises(ValueError, match=r"x must be a 4-D array \(n, h, w, c\)"):
        models.upsample_repeat(x[0], 2)


def test_receptive_fields_by_hand():
    # 96: one 3x3 conv -> 3; pool (+1, jump 2) and conv (+4) -> 8; pool (+2, jump 4) and
    # conv (+8) -> 18; pool (+4, jump 8) and three convs (+16 each) -> 70
    assert models.COARSE_CONVS == 3
    assert models.receptive_fields() == {96: 3, 48: 8, 24: 18, 12: 70}


def test_bad_widths_and_stage_depths():
    with pytest.raises(ValueError, match="widths must hold 4 integers"):
        models.recombinator(widths=(8, 16))
    with pytest.raises(ValueError, match=r"decoder_widths\[1\] must be at least 1, got 0"):
        models.recombinator(decoder_widths=(8, 0, 8))
    for bad in ((2, 2), 0):
        with pytest.raises(ValueError, match="convs_per_stage"):
            models.recombinator(convs_per_stage=bad)
    # a string is the wrong kind of entry, as for every count (core.counts)
    with pytest.raises(TypeError, match=r"convs_per_stage\[2\] must be an integer, got '2'"):
        models.recombinator(convs_per_stage=(1, 1, "2"))


def test_recombinator_stage_depths_and_the_thin_full_resolution_stage():
    import keras

    model = models.recombinator(decoder_widths=(24, 16, 15), convs_per_stage=1)
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [c.name for c in convs if c.name.startswith("dec")] == ["dec24", "dec48", "dec96"]
    squeeze = model.get_layer("squeeze")
    assert squeeze.kernel_size == (1, 1) and squeeze.filters == 15
    assert squeeze.input.shape[1:] == (48, 48, 16)
    assert model.get_layer("concat96").output.shape[1:] == (96, 96, models.WIDTHS[0] + 15)


@pytest.mark.slow
def test_training_lowers_the_error_and_rejects_pixel_targets():
    x, k = make_faces(64, seed=9)
    base = models.sumnet()
    before = float(np.sqrt(np.mean((predict_pixels(base, x) - k) ** 2)))
    run = train(base, x, scale_targets(k), x, k, steps=60, batch_size=16, evals=3, progress=False)
    assert len(run.val_rmse) == 3 and run.steps == 60 and run.seconds > 0
    assert run.val_rmse[-1] < 0.5 * before  # measured: about 20 px -> 6 px on these faces
    with pytest.raises(ValueError, match="scaled"):
        train(models.plain_encoder(), x, k, x, k, steps=2, evals=1, progress=False)


@pytest.mark.parametrize("bad, error, match", [
    (dict(seed="abc"), TypeError, "seed must be a whole number >= 0, got 'abc'"),
    (dict(seed=-1), ValueError, "seed must be >= 0, got -1"),
    (dict(steps=2.0), TypeError, "steps must be an integer"),
    (dict(steps=2, evals=3), ValueError, "need steps >= evals"),
    (dict(batch_size=0), ValueError, "batch_size must be at least 1"),
    (dict(lr=0.0), ValueError, "lr must be greater than 0"),
    (dict(loss="cross-entropy"), ValueError, "loss must be one of"),
])
def test_training_names_a_bad_argument_before_building(bad, error, match):
    x, k = np.zeros((2, SIZE, SIZE, 1), np.float32), np.zeros((2, 30), np.float32)

    def never_built():
        raise AssertionError("the model was built before the arguments were checked")

    with pytest.raises(error, match=match):
        train(never_built, x, k, x, k, **{"steps": 2, "evals": 1, "progress": False, **bad})


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1])
def test_the_plain_encoder_does_not_saturate_its_tanh_early(seed):
    """Without the normalised hidden layer, 20 steps at the lesson's learning rate put
    86-89% of the predictions on the image border (measured with these faces and seeds)."""
    x, k = make_faces(48, seed=9)
    run = train(models.plain_encoder, x, scale_targets(k), x, k, steps=20, batch_size=24,
                lr=3e-3, evals=1, seed=seed, progress=False)
    pred = predict_pixels(run.model, x)
    on_border = np.mean((pred < 1) | (pred > SIZE - 2))
    assert on_border < 0.05, f"{on_border:.0%} of the predictions sit on the image border"


@pytest.mark.slow  # seconds: builds and trains the encoder twice
def test_a_builder_is_seeded_before_it_builds():
    """Passing models.plain_encoder (not a model) makes the start depend on seed alone."""
    x, k = make_faces(8, seed=9)
    y = scale_targets(k)
    starts = []
    for _ in range(2):  # the second start follows more draws than the first
        models.plain_encoder()  # moves Keras' global RNG, like the op-count cells do
        run = train(models.plain_encoder, x, y, x, k, steps=1, batch_size=8, lr=1e-12, evals=1,
                    seed=3, progress=False)
        starts.append(predict_pixels(run.model, x))
    np.testing.assert_allclose(starts[0], starts[1], rtol=0, atol=1e-4)
    for wrong in ("sumnet", lambda: None):  # a name, or a builder that returns nothing
        with pytest.raises(TypeError, match="a Keras model or a function that builds one"):
            train(wrong, x, y, x, k, steps=1, evals=1, progress=False)


def test_heat_map_models_read_out_float32_under_bfloat16():
    """bfloat16 would round scaled coordinates to about 0.4 px: the read-out stays float32."""
    import keras
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        model = models.sumnet()
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert model.get_layer("heat96").compute_dtype == "bfloat16"
    assert model.output.dtype == "float32"
    assert model.get_layer("soft_argmax").compute_dtype == "float32"


@pytest.mark.slow  # seconds: traces a Keras training step
def test_training_traces_its_step_once():
    """Adam's variables exist before the first step, so Keras traces train_step once (a
    step that creates variables would be traced twice)."""
    x, k = make_faces(16, seed=4)
    model, traced = models.plain_encoder(), []
    keras_train_step = model.train_step

    def counting_train_step(data):
        traced.append(1)  # runs only while TensorFlow traces the step
        return keras_train_step(data)

    model.train_step = counting_train_step
    train(model, x, scale_targets(k), x, k, steps=4, batch_size=8, evals=2, progress=False)
    assert len(traced) == 1


@pytest.mark.slow  # about 70 s: it builds and times every model twice (issue #30)
def test_keypoint_benchmark_times_the_mixed_policy_and_restores_float32(capsys, monkeypatch):
    """benchmarks/keypoints.py: one mixed/float32 step-time ratio per model, and float32
    left in force afterwards (the policy is global)."""
    import importlib.util
    import json

    import keras

    from dlcourse import hardware

    from conftest import ROOT

    spec = importlib.util.spec_from_file_location("keypoint_bench",
                                                  ROOT / "benchmarks" / "keypoints.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    monkeypatch.setattr(hardware, "mixed_precision_policy", lambda: "mixed_bfloat16")
    bench.main(["--batch", "4", "--repeat", "1", "--json"])
    figures = {e["figure"]: e["value"]
               for e in json.loads(capsys.readouterr().out.splitlines()[-1])["benchmarks"]}
    ratios = {f: v for f, v in figures.items() if f.endswith("mixed_bfloat16/float32")}
    assert set(ratios) == {f"{m} training step, mixed_bfloat16/float32"
                           for m in ("plain", "SumNet", "RCN")}, figures
    assert all(0 < v < 100 for v in ratios.values()), ratios
    assert keras.mixed_precision.global_policy().name == "float32"


# ---------------------------------------------------------------- the paper's read-out
@pytest.mark.slow  # half a second or more
def test_heat_map_model_shares_the_layers_before_the_soft_argmax():
    model = models.sumnet()
    heat = models.heat_map_model(model)
    assert heat.output.shape[1:] == (SIZE, SIZE, 15)
    assert {id(w) for w in heat.trainable_weights} == {id(w) for w in model.trainable_weights}
    x = np.random.default_rng(2).random((2, SIZE, SIZE, 1), dtype=np.float32)
    maps = np.moveaxis(heat(x, training=False).numpy(), -1, 1)  # (2, 15, h, w)
    got = unscale_targets(model(x, training=False).numpy()).reshape(2, 15, 2)
    np.testing.assert_allclose(got, soft_argmax(maps), atol=2e-3)  # the head reads these maps
    with pytest.raises(ValueError, match="no soft-argmax head"):
        models.heat_map_model(models.plain_encoder())


@pytest.mark.slow  # half a second or more
def test_predict_pixels_reads_a_heat_map_model_by_its_argmax():
    model = models.heat_map_model(models.recombinator())
    x, _ = make_faces(3, seed=8)
    maps = np.moveaxis(model(x, training=False).numpy(), -1, 1)
    np.testing.assert_array_equal(predict_pixels(model, x, batch_size=2),
                                  hard_argmax(maps).reshape(3, 30))


@pytest.mark.slow
def test_training_with_the_papers_loss_returns_the_heat_map_model():
    x, k = make_faces(16, seed=4)
    run = train(models.sumnet, x, scale_targets(k), x, k, steps=4, batch_size=8, evals=2,
                loss="nll", progress=False)
    assert run.model.output.shape[1:] == (SIZE, SIZE, 15) and len(run.val_rmse) == 2
    assert np.isfinite(run.train_loss).all()
    pred = predict_pixels(run.model, x)
    assert np.array_equal(pred, np.round(pred))  # the argmax: whole pixels
    with pytest.raises(ValueError, match="no soft-argmax head"):
        train(models.plain_encoder, x, scale_targets(k), x, k, steps=1, evals=1, loss="nll",
              progress=False)
