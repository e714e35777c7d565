"""MNIST from its IDX files: the parser and the loader the lessons use."""

import gzip
import zlib
from pathlib import Path

import numpy as np

from .cache import CorruptDataError, MissingDataError, fetch_command, fetch_one, repair_command

IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: Path) -> np.ndarray:
    """Parse an IDX file (optionally gzipped), the format MNIST ships in.

    Layout: two zero bytes, one byte for the element type (0x08 = uint8), one
    byte for the number of dimensions d, then d big-endian int32 sizes, then the
    data in C order. Raises ValueError naming the file when it is not valid IDX.
    """
    opener = gzip.open if str(path).endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (gzip.BadGzipFile, EOFError, zlib.error) as err:
        raise ValueError(f"{path} is not a readable gzip file ({err})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_DTYPES:
        raise ValueError(f"{path} is not an IDX file (bad magic number {raw[:4].hex()})")
    ndim = raw[3]
    if len(raw) < 4 + 4 * ndim:
        raise ValueError(f"{path} ends inside its IDX header")
    shape = tuple(int(s) for s in np.frombuffer(raw, ">i4", count=ndim, offset=4))
    data = np.frombuffer(raw, IDX_DTYPES[raw[2]], offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise ValueError(f"{path} holds {data.size} values but its header says {shape}")
    return data.reshape(shape)


def mnist_arrays(split: str, download: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The raw uint8 images (N, 28, 28) and labels (N,) of ``split`` ("train" or "t10k")."""
    if split not in ("train", "t10k"):
        raise ValueError(f"split must be 'train' or 't10k', got {split!r}")
    arrays = []
    for kind, ndim in (("images", 3), ("labels", 1)):
        path = fetch_one("mnist", f"{split}-{kind}-idx{ndim}-ubyte.gz", download)
        try:
            arrays.append(read_idx(path))
        except ValueError as err:
            raise CorruptDataError(f"{err}. Repair it with: {repair_command('mnist')}") from None
    images, labels = arrays
    if len(images) != len(labels):
        raise CorruptDataError(f"MNIST {split} has {len(images)} images but {len(labels)} "
                               f"labels. Repair it with: {repair_command('mnist')}")
    return images, labels


def load_mnist(one_hot: bool = False, flatten: bool = False, download: bool = True,
               offline_split: tuple[int, int] = (8_000, 2_000), seed: int = 0):
    """MNIST as ``((x_train, y_train), (x_test, y_test))``, with a one-line note of the source.

    x: float32 in [0, 1], shape (N, 28, 28, 1) (or (N, 784) with ``flatten``).
    y: int64 labels of shape (N,), or float32 one-hot of shape (N, 10).
    Uses the official 60k/10k split when the training files can be had. When only
    the 10k test split is available, it is shuffled with ``seed`` and split into
    ``offline_split`` train/test parts, with a notice saying so.
    """
    test = mnist_arrays("t10k", download)
    try:
        train = mnist_arrays("train", download)
        print(f"MNIST: the official split, {len(train[0]):,} training and "
              f"{len(test[0]):,} test images")
    except MissingDataError:
        n_train, n_test = offline_split
        if n_train + n_test > len(test[0]):
            raise ValueError(f"offline_split {offline_split} needs more than the "
                             f"{len(test[0])} test images") from None
        print("NOTICE: the 60,000 MNIST training images are not available here.\n"
              f"Using the 10,000 official TEST images split into {n_train:,} train / "
              f"{n_test:,} test. Accuracies are therefore not comparable with published "
              f"MNIST results. Fetch the full set with: {fetch_command('mnist')}")
        order = np.random.default_rng(seed).permutation(len(test[0]))
        images, labels = test[0][order], test[1][order]
        train = images[:n_train], labels[:n_train]
        test = images[n_train:n_train + n_test], labels[n_train:n_train + n_test]
    return _prepare(*train, one_hot, flatten), _prepare(*test, one_hot, flatten)


def _prepare(images: np.ndarray, labels: np.ndarray, one_hot: bool, flatten: bool):
    x = images.astype(np.float32) / 255.0
    x = x.reshape(len(x), -1) if flatten else x[..., np.newaxis]
    y = labels.astype(np.int64)
    if one_hot:
        y = np.eye(10, dtype=np.float32)[y]
    return x, y
