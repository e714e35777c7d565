"""Synthetic 96×96 faces with 15 known keypoints, target scaling, and the real CSV loader.

Layouts: images are float32 ``(n, 96, 96, 1)`` (NHWC, one grey channel) in [0, 1];
keypoints are float32 ``(n, 30)`` in pixels, interleaved ``x0, y0, x1, y1, …`` in the
column order of the public facial-keypoints competition (:data:`KEYPOINT_NAMES`),
NaN where a point is missing. Pixel ``(row r, column c)`` has its centre at
``x = c, y = r``. As in that data set, "left" is the person's left, which appears
on the right of the image.

The synthetic faces are made hard on purpose: each face varies in position, scale,
in-plane rotation, yaw (which moves near and far points differently), expression
and gaze; the background holds clutter with face-like parts (ellipses, dark
blobs, strokes), and a few small parts (no large ellipses) may lie in front of the
face; a lighting gradient, noise and occluders finish the picture. Occluded points
keep their labels, so finding them needs context.
"""

import csv
from pathlib import Path

import numpy as np

from .. import core

__all__ = [
    "KAGGLE_COMPLETE",
    "KAGGLE_PARTIAL_POINTS",
    "KAGGLE_TOTAL",
    "KEYPOINT_NAMES",
    "SIZE",
    "kaggle_incomplete",
    "load_facial_keypoints",
    "make_faces",
    "scale_targets",
    "unscale_targets",
]

SIZE = 96
KEYPOINT_NAMES = (
    "left_eye_center", "right_eye_center",
    "left_eye_inner_corner", "left_eye_outer_corner",
    "right_eye_inner_corner", "right_eye_outer_corner",
    "left_eyebrow_inner_end", "left_eyebrow_outer_end",
    "right_eyebrow_inner_end", "right_eyebrow_outer_end",
    "nose_tip",
    "mouth_left_corner", "mouth_right_corner",
    "mouth_center_top_lip", "mouth_center_bottom_lip",
)
# The competition's training.csv: 7,049 faces, 2,140 with all 15 points; nearly all
# others have only these four.
KAGGLE_TOTAL, KAGGLE_COMPLETE = 7049, 2140
KAGGLE_PARTIAL_POINTS = ("left_eye_center", "right_eye_center", "nose_tip",
                         "mouth_center_bottom_lip")
CSV_URL = "https://www.kaggle.com/c/facial-keypoints-detection/data"

# Canonical layout at scale 1, in pixels relative to the face centre (x right, y down),
# and a depth per point (towards the viewer) used by the yaw.
_LAYOUT = np.array([
    (18, -12), (-18, -12), (11, -12), (25, -12), (-11, -12), (-25, -12),
    (8, -21), (31, -20), (-8, -21), (-31, -20), (0, 12),
    (15, 26), (-15, 26), (0, 23), (0, 29)], dtype=np.float64)
_DEPTH = np.array([0, 0, 2, -5, 2, -5, 4, -8, 4, -8, 16, 3, 3, 7, 6], dtype=np.float64)


def _index(name: str) -> int:
    return KEYPOINT_NAMES.index(name)


# ---------------------------------------------------------------- target scaling
def scale_targets(k, size: int = SIZE) -> np.ndarray:
    """Pixels -> [-1, 1]: ``(k - size/2) / (size/2)``, e.g. (k − 48) / 48; NaN stays NaN."""
    half = _half(size)
    return (np.asarray(k, dtype=np.float32) - half) / half


def unscale_targets(k, size: int = SIZE) -> np.ndarray:
    """[-1, 1] -> pixels: ``k * size/2 + size/2``, the exact inverse of :func:`scale_targets`."""
    half = _half(size)
    return np.asarray(k, dtype=np.float32) * half + half


def _half(size) -> float:
    return core.count("size", size, minimum=2) / 2


# ---------------------------------------------------------------- drawing helpers
class _Canvas:
    """One grey image being painted: shapes are blended in with soft (anti-aliased) edges."""

    def __init__(self, size: int, value: float):
        self.y, self.x = np.mgrid[0:size, 0:size].astype(np.float64)
        self.img = np.full((size, size), value)

    def paint(self, alpha: np.ndarray, value) -> None:
        self.img += np.clip(alpha, 0, 1) * (value - self.img)

    def ellipse(self, cx, cy, a, b, angle, value, soft=0.7):
        c, s = np.cos(angle), np.sin(angle)
        u = (self.x - cx) * c + (self.y - cy) * s
        v = -(self.x - cx) * s + (self.y - cy) * c
        r = np.sqrt((u / a) ** 2 + (v / b) ** 2)
        self.paint((1 - r) * min(a, b) / soft + 0.5, value)

    def stroke(self, p, q, width, value, bend=0.0):
        """A thick segment from p to q, bowed sideways by ``bend`` pixels in its middle."""
        p, q = np.asarray(p, float), np.asarray(q, float)
        d = q - p
        length = max(np.hypot(*d), 1e-6)
        e = d / length
        t = np.clip(((self.x - p[0]) * e[0] + (self.y - p[1]) * e[1]) / length, 0, 1)
        off = bend * 4 * t * (1 - t)
        px = p[0] + t * d[0] + off * e[1]
        py = p[1] + t * d[1] - off * e[0]
        dist = np.hypot(self.x - px, self.y - py)
        self.paint(width / 2 - dist + 0.5, value)

    def lips(self, left, right, top, bottom, value):
        """Mouth: the region between two parabolas joining the corners through top and bottom."""
        left, right = np.asarray(left, float), np.asarray(right, float)
        mid, d = (left + right) / 2, (left - right) / 2
        half = max(np.hypot(*d), 1e-6)
        e = d / half
        n = np.array([-e[1], e[0]])
        u = ((self.x - mid[0]) * e[0] + (self.y - mid[1]) * e[1]) / half
        v = (self.x - mid[0]) * n[0] + (self.y - mid[1]) * n[1]
        vt = (np.asarray(top) - mid) @ n
        vb = (np.asarray(bottom) - mid) @ n
        lo, hi = min(vt, vb), max(vt, vb)
        w = np.clip(1 - u ** 2, 0, 1)
        inside = np.minimum(np.minimum(v - lo * w, hi * w - v), (1 - np.abs(u)) * half)
        self.paint(inside + 0.5, value)


def _clutter(canvas: _Canvas, rng: np.random.Generator, count: int, large: bool = True) -> None:
    """``count`` random parts; ``large=False`` leaves out the big ellipses (kind 0)."""
    size = canvas.img.shape[0]
    for _ in range(count):
        kind = rng.integers(0 if large else 1, 4)
        cx, cy = rng.uniform(-8, size + 8, 2)
        value = rng.uniform(0, 1)
        if kind == 0:  # a large ellipse (a head-like or arbitrary blob)
            canvas.ellipse(cx, cy, rng.uniform(6, 30), rng.uniform(4, 20), rng.uniform(0, np.pi),
                           value)
        elif kind == 1:  # an eye-like part: light almond with a dark disc
            a = rng.uniform(4, 9)
            ang = rng.uniform(-0.6, 0.6)
            canvas.ellipse(cx, cy, a, a * rng.uniform(0.35, 0.6), ang, rng.uniform(0.6, 1))
            canvas.ellipse(cx, cy, a * 0.35, a * 0.35, 0, rng.uniform(0, 0.25))
        elif kind == 2:  # a dark blob
            r = rng.uniform(1.5, 5)
            canvas.ellipse(cx, cy, r, r * rng.uniform(0.6, 1), rng.uniform(0, np.pi),
                           rng.uniform(0, 0.3))
        else:  # a stroke, like an eyebrow or a lip line
            ang, length = rng.uniform(0, np.pi), rng.uniform(8, 30)
            d = np.array([np.cos(ang), np.sin(ang)]) * length / 2
            canvas.stroke((cx, cy) - d, (cx, cy) + d, rng.uniform(1.5, 4), value,
                          bend=rng.uniform(-4, 4))


def _face_points(rng: np.random.Generator, size: int):
    """Keypoints (15, 2) in pixels plus the face parameters needed to draw it."""
    p = _LAYOUT.copy()
    p += rng.normal(0, 1.2, p.shape)  # individual shape
    eye_w = rng.uniform(0.8, 1.2)  # eye width: corners move apart around the eye centre
    for centre, inner, outer in ((0, 2, 3), (1, 4, 5)):
        mid = (p[inner] + p[outer]) / 2
        p[inner] = mid + (p[inner] - mid) * eye_w
        p[outer] = mid + (p[outer] - mid) * eye_w
        p[centre] = mid
    gaze = rng.uniform(-0.35, 0.35)  # both irises look the same way along the eye
    for centre, inner, outer in ((0, 2, 3), (1, 4, 5)):
        half = (p[outer] - p[inner]) / 2
        sign = 1 if centre == 0 else -1
        p[centre] = p[centre] + sign * gaze * half * np.array([1, 0.2]) + (0, rng.normal(0, 0.5))
    brow = rng.uniform(-2, 4)  # raised or lowered eyebrows
    p[6:10, 1] -= brow
    p[[7, 9], 1] -= rng.uniform(-2, 2)
    smile, width, opening = rng.uniform(-4, 3), rng.uniform(0.8, 1.25), rng.uniform(2, 11)
    mc = (p[11] + p[12]) / 2
    p[11], p[12] = mc + (p[11] - mc) * width, mc + (p[12] - mc) * width
    p[[11, 12], 1] -= smile
    mouth_y = mc[1]
    p[13] = (p[13][0], mouth_y - opening * 0.4 - rng.uniform(0, 1.5))
    p[14] = (p[14][0], mouth_y + opening * 0.6 + rng.uniform(0, 1.5))
    yaw = rng.uniform(-0.55, 0.55)  # about ±30°: near points swing further than far ones
    p[:, 0] = p[:, 0] * np.cos(yaw) + _DEPTH * np.sin(yaw)
    scale = rng.uniform(0.6, 1.2)
    roll = rng.uniform(-np.pi / 6, np.pi / 6)
    rot = np.array([[np.cos(roll), -np.sin(roll)], [np.sin(roll), np.cos(roll)]])
    q = p @ rot.T * scale
    margin = 3
    lo = margin - q.min(axis=0)
    hi = size - 1 - margin - q.max(axis=0)
    if (hi < lo).any():
        return None
    centre = rng.uniform(lo, hi)
    params = dict(yaw=yaw, scale=scale, roll=roll, centre=centre, rot=rot,
                  head=np.array([-np.sin(yaw) * 10, 4.0]) @ rot.T * scale + centre)
    return q + centre, params


def _draw_face(canvas: _Canvas, pts: np.ndarray, prm: dict, rng: np.random.Generator) -> None:
    s, roll = prm["scale"], prm["roll"]
    skin = rng.uniform(0.35, 0.85)
    hx, hy = prm["head"]
    canvas.ellipse(hx, hy, 38 * s * (0.8 + 0.2 * np.cos(prm["yaw"])) * rng.uniform(0.9, 1.1),
                   48 * s * rng.uniform(0.9, 1.1), roll, skin, soft=1.5)
    dark = lambda: np.clip(skin - rng.uniform(0.2, 0.45), 0, 1)  # noqa: E731
    light = np.clip(skin + rng.uniform(0.1, 0.35), 0, 1)
    for centre, inner, outer in ((0, 2, 3), (1, 4, 5)):
        a, b = pts[inner], pts[outer]
        mid = (a + b) / 2
        half = max(np.hypot(*(b - a)) / 2, 1.0)
        ang = np.arctan2(*(b - a)[::-1])
        canvas.ellipse(mid[0], mid[1], half, half * rng.uniform(0.35, 0.6), ang, light)
        r = half * rng.uniform(0.3, 0.45)
        canvas.ellipse(pts[centre][0], pts[centre][1], r, r, 0, dark())
    for inner, outer in ((6, 7), (8, 9)):
        canvas.stroke(pts[inner], pts[outer], 2.5 * s + 0.5, dark(), bend=rng.uniform(-3, 1) * s)
    tip = pts[10]
    bridge = (pts[2] + pts[4]) / 2
    canvas.stroke(bridge, tip, 2.0 * s, np.clip(skin - 0.1, 0, 1))
    nose_r = 3.2 * s
    canvas.ellipse(tip[0], tip[1], nose_r, nose_r * 0.8, roll, np.clip(skin + 0.12, 0, 1))
    side = prm["rot"] @ np.array([5.0, 2.0]) * s
    side2 = prm["rot"] @ np.array([-5.0, 2.0]) * s
    for off in (side, side2):
        canvas.ellipse(tip[0] + off[0], tip[1] + off[1], 1.6 * s, 1.1 * s, roll, dark())
    canvas.lips(pts[11], pts[12], pts[13], pts[14], dark())


def _occlude(canvas: _Canvas, pts: np.ndarray, rng: np.random.Generator) -> None:
    target = pts[rng.integers(len(pts))]
    w, h = rng.uniform(6, 18, 2)
    cx, cy = target + rng.normal(0, 4, 2)
    mask = ((np.abs(canvas.x - cx) < w / 2) & (np.abs(canvas.y - cy) < h / 2)).astype(float)
    texture = rng.uniform(0, 1) + rng.normal(0, 0.08, canvas.img.shape)
    canvas.img += mask * (texture - canvas.img)


def _render_one(rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray]:
    while True:
        face = _face_points(rng, size)
        if face is not None:
            break
    pts, prm = face
    canvas = _Canvas(size, rng.uniform(0.05, 0.95))
    _clutter(canvas, rng, int(rng.integers(4, 12)))
    _draw_face(canvas, pts, prm, rng)
    # a few small parts in front of the face: a big ellipse here could hide half of it
    _clutter(canvas, rng, int(rng.integers(0, 3)), large=False)
    if rng.random() < 0.4:  # an occluder over (or near) one of the points
        _occlude(canvas, pts, rng)
    ang = rng.uniform(0, 2 * np.pi)
    gradient = (np.cos(ang) * (canvas.x - size / 2) + np.sin(ang) * (canvas.y - size / 2)) / size
    img = canvas.img * (1 + rng.uniform(0, 0.9) * gradient) + rng.uniform(-0.15, 0.15)
    img = img * rng.uniform(0.6, 1.2) + rng.normal(0, rng.uniform(0.02, 0.09), img.shape)
    return np.clip(img, 0, 1).astype(np.float32), pts.reshape(-1).astype(np.float32)


def make_faces(n: int, seed: int = 0, size: int = SIZE, missing: str | None = None):
    """``n`` synthetic faces and their keypoints, deterministic by ``seed``.

    Returns ``(images, keypoints)``: images float32 ``(n, size, size, 1)`` in [0, 1],
    keypoints float32 ``(n, 30)`` in pixels, interleaved x, y in the order of
    :data:`KEYPOINT_NAMES`, every present point inside the image.

    missing: None keeps every point; ``"kaggle"`` reproduces the competition's
    pattern: round(n · 2140/7049) faces (chosen at random) keep all 15 points,
    the others only the four of :data:`KAGGLE_PARTIAL_POINTS` (the rest NaN).
    The images do not depend on ``missing``.
    """
    n, seed = core.count("n", n, minimum=0), core.seed("seed", seed)
    if core.count("size", size) != SIZE:
        raise ValueError(f"size must be {SIZE} (the layout is drawn for 96×96 faces), got {size}")
    core.choice("missing", missing, (None, "kaggle"))
    images = np.empty((n, size, size, 1), np.float32)
    keypoints = np.empty((n, 2 * len(KEYPOINT_NAMES)), np.float32)
    for i, child in enumerate(np.random.SeedSequence(seed).spawn(n)):
        images[i, :, :, 0], keypoints[i] = _render_one(np.random.default_rng(child), size)
    if missing == "kaggle":
        keypoints[np.ix_(kaggle_incomplete(n, seed), ~_partial_columns())] = np.nan
    return images, keypoints


def kaggle_incomplete(n: int, seed: int = 0) -> np.ndarray:
    """Boolean ``(n,)``: which faces lose all but four points under ``missing="kaggle"``."""
    n, seed = core.count("n", n, minimum=0), core.seed("seed", seed)
    complete = round(n * KAGGLE_COMPLETE / KAGGLE_TOTAL)
    rng = np.random.default_rng([seed, 7049])
    flags = np.ones(n, bool)
    flags[rng.choice(n, complete, replace=False)] = False
    return flags


def _partial_columns() -> np.ndarray:
    """Boolean ``(30,)``: the x and y columns of :data:`KAGGLE_PARTIAL_POINTS`."""
    keep = np.zeros(2 * len(KEYPOINT_NAMES), bool)
    for name in KAGGLE_PARTIAL_POINTS:
        keep[2 * _index(name): 2 * _index(name) + 2] = True
    return keep


# ---------------------------------------------------------------- the real data
def load_facial_keypoints(path):
    """The competition's ``training.csv``: ``(images, keypoints)`` like :func:`make_faces`.

    The file has 30 coordinate columns (``left_eye_center_x``, …) and an ``Image``
    column of 9,216 space-separated grey values (0–255). Returns images float32
    ``(n, 96, 96, 1)`` in [0, 1] and keypoints float32 ``(n, 30)`` in the order of
    :data:`KEYPOINT_NAMES`, empty cells as NaN (no row is dropped).
    Raises FileNotFoundError naming the file and where to get it when it is absent,
    ValueError when a column or an image is malformed.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found. The real faces are the public 'Facial Keypoints Detection' "
            f"competition's training.csv (7,049 faces, 96×96): download it from {CSV_URL} "
            "(a free account and accepting the competition rules are needed), unzip "
            "training.zip and pass the path of training.csv.")
    columns = [f"{name}_{axis}" for name in KEYPOINT_NAMES for axis in ("x", "y")]
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
        header = rows[0].keys() if rows else []
    absent = [c for c in [*columns, "Image"] if c not in header]
    if absent:
        raise ValueError(f"{path.name} lacks the column(s) {', '.join(absent)}")
    keypoints = np.array([[float(r[c]) if r[c].strip() else np.nan for c in columns]
                          for r in rows], dtype=np.float32).reshape(len(rows), len(columns))
    images = np.empty((len(rows), SIZE, SIZE, 1), np.float32)
    for i, row in enumerate(rows):
        values = np.array(row["Image"].split(), dtype=np.float32)
        if values.size != SIZE * SIZE:
            raise ValueError(f"row {i} of {path.name}: the image has {values.size} values, "
                             f"expected {SIZE * SIZE} (96×96)")
        images[i, :, :, 0] = values.reshape(SIZE, SIZE) / 255.0
    return images, keypoints
