"""dlcourse.keypoints: the synthetic faces, target scaling, the CSV loader, the losses."""

import re
from pathlib import Path

import numpy as np
import pytest

from dlcourse.keypoints import (
    KAGGLE_COMPLETE,
    KAGGLE_PARTIAL_POINTS,
    KAGGLE_TOTAL,
    KEYPOINT_NAMES,
    hard_argmax,
    interocular_error,
    kaggle_incomplete,
    load_facial_keypoints,
    make_faces,
    masked_mse,
    per_keypoint_rmse,
    position_nll,
    rmse_pixels,
    scale_targets,
    soft_argmax,
    unscale_targets,
)


@pytest.fixture(scope="module")
def faces():
    return make_faces(60, seed=3)


# ---------------------------------------------------------------- generator
def test_shapes_dtypes_and_range(faces):
    images, keypoints = faces
    assert images.shape == (60, 96, 96, 1) and images.dtype == np.float32
    assert keypoints.shape == (60, 30) and keypoints.dtype == np.float32
    assert images.min() >= 0 and images.max() <= 1
    assert not np.isnan(keypoints).any()


def test_points_inside_the_image(faces):
    _, keypoints = faces
    assert keypoints.min() >= 0 and keypoints.max() <= 95


@pytest.mark.slow  # half a second or more
def test_deterministic_by_seed_and_different_across_seeds(faces):
    again = make_faces(60, seed=3)
    assert np.array_equal(again[0], faces[0]) and np.array_equal(again[1], faces[1])
    other = make_faces(5, seed=4)
    assert not np.allclose(other[1], faces[1][:5])
    # the first faces do not depend on how many are drawn
    assert np.array_equal(make_faces(3, seed=3)[1], faces[1][:3])


def test_faces_vary_in_position_scale_and_rotation(faces):
    _, k = faces
    pts = k.reshape(len(k), 15, 2)
    eyes = pts[:, 0] - pts[:, 1]  # right-eye -> left-eye vector
    distance = np.linalg.norm(eyes, axis=1)
    angle = np.degrees(np.arctan2(eyes[:, 1], eyes[:, 0]))
    assert distance.max() / distance.min() > 1.6  # scale 0.6-1.2 and yaw
    assert angle.min() < -15 and angle.max() > 15  # rotation about ±30°
    assert np.ptp(pts.mean(axis=1), axis=0).min() > 15  # the face moves around
    # "left" is the person's left: on the right of the image for an upright face
    upright = np.abs(angle) < 10
    assert (eyes[upright, 0] > 0).all()


def test_eye_corners_flank_the_eye_centre(faces):
    _, k = faces
    pts = k.reshape(len(k), 15, 2)
    for centre, inner, outer in ((0, 2, 3), (1, 4, 5)):
        a, b = pts[:, inner] - pts[:, centre], pts[:, outer] - pts[:, centre]
        assert ((a * b).sum(axis=1) < 0).all()  # the corners lie on opposite sides


@pytest.mark.slow  # half a second or more
def test_kaggle_missing_pattern():
    n = 7049
    flags = kaggle_incomplete(n, seed=0)
    assert flags.sum() == KAGGLE_TOTAL - KAGGLE_COMPLETE
    images, k = make_faces(40, seed=5, missing="kaggle")
    full_images, full = make_faces(40, seed=5)
    assert np.array_equal(images, full_images)
    missing = np.isnan(k)
    incomplete = kaggle_incomplete(40, seed=5)
    assert (~incomplete).sum() == round(40 * 2140 / 7049)  # complete faces
    assert not missing[~incomplete].any()
    kept = [2 * KEYPOINT_NAMES.index(n) + a for n in KAGGLE_PARTIAL_POINTS for a in (0, 1)]
    assert (~missing[incomplete]).sum(axis=1).tolist() == [8] * incomplete.sum()
    assert not missing[incomplete][:, kept].any()
    assert np.array_equal(k[~missing], full[~missing])


@pytest.mark.parametrize("bad, error, match", [
    (dict(n=-1), ValueError, "n must be at least 0"),
    (dict(n=2.5), TypeError, "n must be an integer"),
    (dict(n=2, size=64), ValueError, "size must be 96"),
    (dict(n=2, missing="some"), ValueError, "missing must be one of None, 'kaggle'; got 'some'"),
    (dict(n=2, seed=-1), ValueError, "seed must be >= 0, got -1"),
    (dict(n=2, seed="abc"), TypeError, "seed must be a whole number >= 0, got 'abc'"),
])
def test_bad_arguments(bad, error, match):
    with pytest.raises(error, match=match):
        make_faces(**bad)


@pytest.mark.parametrize("seed, error", [(-1, ValueError), ("abc", TypeError), (1.5, TypeError)])
def test_kaggle_incomplete_names_a_bad_seed(seed, error):
    with pytest.raises(error, match="seed must be"):
        kaggle_incomplete(10, seed=seed)


def test_numpy_integers_are_counts_and_seeds():
    images, _ = make_faces(np.int64(2), seed=np.uint32(3))
    np.testing.assert_array_equal(images, make_faces(2, seed=3)[0])


# ---------------------------------------------------------------- scaling
def test_scaling_round_trip_and_formula():
    k = np.array([[0.0, 48.0, 95.0, np.nan]], np.float32)
    s = scale_targets(k)
    np.testing.assert_allclose(s[0, :3], [-1.0, 0.0, 47 / 48])
    assert np.isnan(s[0, 3])
    rng = np.random.default_rng(0)
    pix = rng.uniform(0, 95, (50, 30)).astype(np.float32)
    np.testing.assert_allclose(unscale_targets(scale_targets(pix)), pix, atol=1e-5)
    np.testing.assert_allclose(scale_targets(pix, size=64), (pix - 32) / 32, rtol=1e-6)
    with pytest.raises(ValueError, match="size"):
        scale_targets(pix, size=0)


# ---------------------------------------------------------------- losses and measures
def test_masked_mse_against_numpy():
    rng = np.random.default_rng(1)
    y_true = rng.normal(size=(8, 30)).astype(np.float32)
    y_true[rng.random((8, 30)) < 0.4] = np.nan
    y_pred = rng.normal(size=(8, 30)).astype(np.float32)
    expected = np.nanmean((y_true - y_pred) ** 2)
    got = float(masked_mse(y_true, y_pred))
    assert got == pytest.approx(expected, rel=1e-5)
    no_nan = rng.normal(size=(4, 30)).astype(np.float32)
    assert float(masked_mse(no_nan, y_pred[:4])) == pytest.approx(
        np.mean((no_nan - y_pred[:4]) ** 2), rel=1e-5)
    assert float(masked_mse(np.full((2, 30), np.nan, np.float32), y_pred[:2])) == 0.0


def test_masked_mse_names_both_shapes_when_they_differ():
    import tensorflow as tf

    with pytest.raises(ValueError, match=r"y_true has shape \(4, 30\) but y_pred has shape "
                                         r"\(4, 28\)"):
        masked_mse(np.zeros((4, 30)), np.zeros((4, 28)))
    with pytest.raises(ValueError, match=r"\(1, 30\) but y_pred has shape \(4, 30\)"):
        masked_mse(np.zeros((1, 30)), np.zeros((4, 30)))  # would broadcast silently
    # while Keras traces, the batch axis is unknown: that is not a mismatch
    spec = tf.TensorSpec((None, 30), tf.float32)
    traced = tf.function(masked_mse, input_signature=[spec, spec])
    assert float(traced(np.ones((3, 30), np.float32), np.zeros((3, 30), np.float32))) == 1.0


def test_masked_mse_gradient_is_finite_and_zero_where_missing():
    import tensorflow as tf

    y_true = np.array([[0.5, np.nan, -0.2, np.nan]], np.float32)
    y_pred = tf.Variable([[0.1, 0.3, 0.0, -0.4]])
    with tf.GradientTape() as tape:
        loss = masked_mse(y_true, y_pred)
    grad = tape.gradient(loss, y_pred).numpy()
    np.testing.assert_allclose(grad, [[2 * (0.1 - 0.5) / 2, 0, 2 * (0.0 + 0.2) / 2, 0]],
                               rtol=1e-6)


def test_soft_argmax_on_known_maps():
    heat = np.full((96, 96), -1e4)
    heat[30, 70] = 0.0
    np.testing.assert_allclose(soft_argmax(heat), [70, 30], atol=1e-9)
    np.testing.assert_allclose(soft_argmax(np.zeros((96, 96))), [47.5, 47.5])
    two = np.full((10, 12), -1e4)
    two[2, 3] = two[2, 4] = 0.0  # two equal peaks: half-way, sub-pixel
    np.testing.assert_allclose(soft_argmax(two), [3.5, 2.0], atol=1e-9)
    # a Gaussian bump centred between pixels is found to a small fraction of a pixel
    y, x = np.mgrid[0:40, 0:40]
    bump = -((x - 17.3) ** 2 + (y - 22.6) ** 2) / (2 * 1.5 ** 2)
    np.testing.assert_allclose(soft_argmax(bump), [17.3, 22.6], atol=1e-6)
    batch = np.stack([heat, np.zeros((96, 96))])[None]  # (1, 2, h, w)
    assert soft_argmax(batch).shape == (1, 2, 2)
    with pytest.raises(ValueError, match=r"2 or more axes \(\.\.\., h, w\), got shape \(5,\)"):
        soft_argmax(np.zeros(5))


def _nll_by_numpy(y_true, heat):
    """The paper's loss written out: round each true point to its pixel, log-softmax over
    the positions of its map, average −log p over the present points."""
    n, s, _, k = heat.shape
    total, count = 0.0, 0
    for i in range(n):
        for j in range(k):
            x, y = y_true[i, 2 * j: 2 * j + 2] * s / 2 + s / 2
            if np.isnan(x):
                continue
            c, r = (int(np.clip(np.round(v), 0, s - 1)) for v in (x, y))
            scores = heat[i, :, :, j].astype(np.float64)
            log_z = scores.max() + np.log(np.exp(scores - scores.max()).sum())
            total, count = total + log_z - scores[r, c], count + 1
    return total / count


def test_position_nll_is_the_log_likelihood_of_the_true_pixel():
    rng = np.random.default_rng(4)
    heat = rng.normal(0, 2, (3, 8, 8, 2)).astype(np.float32)
    pixels = rng.uniform(0, 7, (3, 4))
    pixels[0, 2:] = [9.0, -3.0]  # outside the 8×8 grid: the border pixel (7, 0)
    pixels[1, :2] = np.nan  # a missing point is left out of the mean
    y_true = scale_targets(pixels, size=8)
    got = float(position_nll(y_true, heat))
    assert got == pytest.approx(_nll_by_numpy(y_true, heat), rel=1e-5)
    peaked = np.zeros((1, 8, 8, 1), np.float32)
    peaked[0, 5, 3, 0] = 50.0  # all the probability on x=3, y=5
    assert float(position_nll(scale_targets(np.array([[3.2, 4.8]]), size=8), peaked)) < 1e-6
    assert float(position_nll(np.full((1, 2), np.nan), peaked)) == 0.0


def test_position_nll_names_a_bad_shape():
    with pytest.raises(ValueError, match="4 columns but there are 3 heat maps"):
        position_nll(np.zeros((2, 4)), np.zeros((2, 8, 8, 3)))
    with pytest.raises(ValueError, match=r"\(n, s, s, k\)"):
        position_nll(np.zeros((2, 4)), np.zeros((2, 8, 6, 2)))


def test_hard_argmax_reads_the_largest_score_on_the_grid():
    heat = np.zeros((10, 12))
    heat[2, 3] = heat[2, 4] = 1.0  # a tie: the first in row-major order, not half-way
    np.testing.assert_array_equal(hard_argmax(heat), [3, 2])
    maps = np.random.default_rng(6).normal(size=(2, 3, 9, 7))
    got = hard_argmax(maps)
    assert got.shape == (2, 3, 2)
    for i in range(2):
        for j in range(3):
            r, c = np.unravel_index(maps[i, j].argmax(), maps[i, j].shape)
            np.testing.assert_array_equal(got[i, j], [c, r])
    with pytest.raises(ValueError, match=r"2 or more axes \(\.\.\., h, w\), got shape \(5,\)"):
        hard_argmax(np.zeros(5))


def test_error_measures():
    true = np.zeros((2, 30))
    true[:, 0::2], true[:, 1::2] = 40.0, 50.0
    true[:, 2] = 60.0  # right eye 20 px from the left eye
    pred = true.copy()
    pred[0, 4] += 3.0  # one coordinate 3 px off
    assert rmse_pixels(pred, true) == pytest.approx(np.sqrt(9 / 60))
    per_point = per_keypoint_rmse(pred, true)
    assert per_point[2] == pytest.approx(np.sqrt(9 / 4)) and per_point[0] == 0
    assert interocular_error(pred, true) == pytest.approx((3 / 15 / 20) / 2)
    true[1, 6:] = np.nan
    assert rmse_pixels(pred, true) == pytest.approx(np.sqrt(9 / 36))
    with pytest.raises(ValueError, match=r"pred must be a 2-D array \(n, 30\), got shape \(2, "):
        rmse_pixels(pred[:, :10], true[:, :10])
    with pytest.raises(ValueError, match="one row per face each, got 1 and 2 rows"):
        interocular_error(pred[:1], true)
    with pytest.raises(TypeError, match="true must hold real numbers"):
        per_keypoint_rmse(pred, true.astype(str))


# ---------------------------------------------------------------- the real CSV
def _write_csv(path, rows):
    columns = [f"{n}_{a}" for n in KEYPOINT_NAMES for a in ("x", "y")]
    lines = [",".join([*columns, "Image"])]
    for coords, image in rows:
        cells = ["" if np.isnan(c) else repr(float(c)) for c in coords]
        lines.append(",".join([*cells, " ".join(str(int(v)) for v in image.ravel())]))
    path.write_text("\n".join(lines) + "\n")


def test_load_facial_keypoints_reads_a_small_csv(tmp_path):
    rng = np.random.default_rng(2)
    coords = rng.uniform(0, 95, (3, 30))
    coords[1, 4:] = np.nan
    pixels = rng.integers(0, 256, (3, 96, 96))
    path = tmp_path / "training.csv"
    _write_csv(path, list(zip(coords, pixels, strict=True)))
    images, k = load_facial_keypoints(path)
    assert images.shape == (3, 96, 96, 1) and images.dtype == np.float32
    np.testing.assert_allclose(images[..., 0], pixels / 255.0, rtol=1e-6)
    np.testing.assert_allclose(k, coords, rtol=1e-6)
    assert np.isnan(k[1, 4:]).all() and not np.isnan(k[[0, 2]]).any()


def test_load_facial_keypoints_missing_file_says_where_to_get_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="training.csv") as err:
        load_facial_keypoints(tmp_path / "training.csv")
    assert "kaggle.com" in str(err.value)


def test_load_facial_keypoints_rejects_a_bad_file(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="lacks the column"):
        load_facial_keypoints(path)
    rows = [(np.zeros(30), np.zeros((96, 96)))]
    _write_csv(path, rows)
    path.write_text(path.read_text().replace(" 0\n", "\n", 1))
    with pytest.raises(ValueError, match="9215 values"):
        load_facial_keypoints(path)


# ---------------------------------------------------------------- lesson 08's exercise checks
LESSON = Path(__file__).resolve().parents[1] / "course" / "08_recombinator_networks.py"


@pytest.fixture(scope="module")
def lesson_cells():
    import jupytext

    return [c.source for c in jupytext.read(LESSON).cells if c.cell_type == "code"]


def _run_cells(cells, markers, learner, monkeypatch):
    """Run the lesson's import cell, put ``learner``'s names in, then the cells holding each
    marker in turn (as Run All would, after the learner's own solution cell)."""
    monkeypatch.delenv("DLCOURSE_STRICT", raising=False)  # a wrong answer prints, as for a learner
    namespace = {}
    exec(next(c for c in cells if "from dlcourse.keypoints import" in c), namespace)
    namespace.update(learner)
    for marker in markers:
        exec(next(c for c in cells if marker in c), namespace)
    return namespace


def _unscale_keeping_no_nan(k):
    return np.nan_to_num(np.asarray(k, np.float64) * 48 + 48)


def _raises(*args):
    raise ZeroDivisionError("a learner's slip")


def _ignores_the_batch(coarse, fine):
    n, h, w, c = coarse
    if (2 * h, 2 * w) != tuple(fine[1:3]):
        raise ValueError("sizes differ")
    return (n, 2 * h, 2 * w, c + fine[3])


@pytest.mark.parametrize("exercise, markers, learner, says", [
    ("my_unscale", ['"my_unscale",'], _unscale_keeping_no_nan, "missing points (NaN)"),
    ("my_unscale", ['"my_unscale",'], _raises, "raised ZeroDivisionError: a learner's slip"),
    ("my_recombined_shape", ["def shape_or_error", '"my_recombined_shape",'], _ignores_the_batch,
     "a batch of 2 coarse maps and a batch of 3 fine maps"),
    ("my_recombined_shape", ["def shape_or_error", '"my_recombined_shape",'], _raises,
     "raised ZeroDivisionError: a learner's slip"),
])
def test_lesson_checks_turn_a_wrong_answer_into_feedback(lesson_cells, monkeypatch, capsys,
                                                        exercise, markers, learner, says):
    """NaN must stay NaN, a batch mismatch is wrong, and a learner's exception is a line of
    feedback, not a traceback that stops Run All."""
    _run_cells(lesson_cells, markers, {exercise: learner}, monkeypatch)
    out = capsys.readouterr().out
    assert f"✗ {exercise}" in out and says in out, out


@pytest.mark.parametrize("exercise, markers", [
    ("my_unscale", ["def my_unscale", '"my_unscale",']),
    ("my_recombined_shape", ["def my_recombined_shape", "def shape_or_error",
                             '"my_recombined_shape",']),
])
def test_lesson_solutions_pass_their_checks(lesson_cells, monkeypatch, capsys, exercise, markers):
    _run_cells(lesson_cells, markers, {}, monkeypatch)
    assert f"✓ {exercise}: correct" in capsys.readouterr().out


def test_lesson_exercises_are_numbered_in_order_and_comparisons_say_above(lesson_cells):
    numbers = [int(n) for n in re.findall(r"### Exercise (\d+)", LESSON.read_text())]
    assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) == 3
    namespace = {}
    exec(next(c for c in lesson_cells if "def below_or_above" in c), namespace)
    assert namespace["below_or_above"](1.01, 1.0) == "1% above"  # once printed as "-1% below"
    assert namespace["below_or_above"](0.75, 1.0) == "25% below"
