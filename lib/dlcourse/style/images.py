"""Images for style transfer: content photos, paintings, resizing and display.

Every image here is a float32 array ``(H, W, 3)``, RGB, values in 0-255.
Content photos come with scikit-image; the paintings come through the course
data layer (``dlcourse.data``: cache, offline mirror, or download with a checksum).
"""

from pathlib import Path

import numpy as np

from .. import core, data

CONTENT_PHOTOS = ("astronaut", "coffee", "chelsea", "rocket")
PAINTINGS = {"great_wave": "Hokusai, The Great Wave off Kanagawa (c. 1831)",
             "starry_night": "Van Gogh, The Starry Night (1889)"}


def as_rgb(image, name: str = "image") -> np.ndarray:
    """``image`` as float32 ``(H, W, 3)``: grey repeated, alpha dropped, batch of 1 unwrapped.

    Raises TypeError for non-numbers, ValueError for another shape or a NaN or infinite
    pixel: VGG would turn it into NaN losses and gradients, and the result into a silently
    black image.
    """
    arr = np.asarray(image)
    if arr.ndim == 4 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=-1)
    if arr.ndim == 3 and arr.shape[-1] == 4:
        arr = arr[..., :3]
    return core.array(name, arr, "H, W, 3", dtype=np.float32, finite=True)


def center_square(image) -> np.ndarray:
    """The largest centred square of ``image`` ``(H, W, 3)``."""
    arr = as_rgb(image)
    h, w = arr.shape[:2]
    s = min(h, w)
    top, left = (h - s) // 2, (w - s) // 2
    return arr[top:top + s, left:left + s]


def resize(image, shape: tuple[int, int]) -> np.ndarray:
    """``image`` ``(H, W, 3)`` 0-255 resized to ``shape = (h, w)`` with anti-aliasing."""
    from skimage.transform import resize as sk_resize

    arr = as_rgb(image)
    h, w = core.pair(shape, "shape")
    out = sk_resize(arr, (h, w, 3), order=1, anti_aliasing=(h < arr.shape[0]),
                    preserve_range=True)
    return np.clip(out, 0, 255).astype(np.float32)


def content_image(name: str = "astronaut", size: int = 256) -> np.ndarray:
    """A scikit-image photo (``CONTENT_PHOTOS``), centre-cropped, ``(size, size, 3)``."""
    import skimage.data

    photo = getattr(skimage.data, core.choice("content photo", name, CONTENT_PHOTOS))()
    return resize(center_square(photo), (size, size))


def style_image(name: str = "great_wave", size: int = 256) -> np.ndarray:
    """A public-domain painting through the data layer, shorter side ``size``, aspect kept.

    name: ``"great_wave"`` or ``"starry_night"``. Returns ``(h, w, 3)`` float32 0-255.
    """
    name = core.choice("painting", name, PAINTINGS)
    return load_image(data.fetch_one("style", f"{name}.jpg"), size)


def load_image(path, size: int | None = None) -> np.ndarray:
    """Read an image file into ``(h, w, 3)`` float32 0-255, shorter side ``size`` if given."""
    from skimage.io import imread

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no image file at {path}")
    arr = as_rgb(imread(path), str(path))
    return arr if size is None else fit_shorter_side(arr, size)


def fit_shorter_side(image, size: int) -> np.ndarray:
    """``image`` ``(H, W, 3)`` resized so its shorter side is ``size``, proportions kept."""
    arr = as_rgb(image)
    h, w = arr.shape[:2]
    scale = size / min(h, w)
    return resize(arr, (max(1, round(h * scale)), max(1, round(w * scale))))


def to_uint8(image) -> np.ndarray:
    """``(H, W, 3)`` or ``(1, H, W, 3)`` 0-255 floats -> displayable uint8 (rounded, clipped)."""
    return np.clip(np.rint(as_rgb(image)), 0, 255).astype(np.uint8)
