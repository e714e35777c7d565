"""Datasets of the course: one manifest, a verified cache, an offline mirror, loaders.

Every file the course uses is listed in ``data/manifest.json`` with its public
URL, size and the hash upstream publishes. :func:`fetch` finds each file in
this order and verifies it before use:

1. the cache ``data/<dataset>/<file>`` (size checked; the hash was checked on entry),
2. the offline mirror named by ``DLCOURSE_DATA_MIRROR`` (hash checked, then copied),
3. a download from the public URL (progress bar, written to a temporary file,
   hash checked, then renamed into place, so a partial or corrupt download never
   lands in the cache).

Command line::

    python -m dlcourse.data status            # what is cached, mirrored, missing
    python -m dlcourse.data fetch mnist       # pre-download for offline use (or: all)
"""

import argparse
import gzip
import hashlib
import json
import os
import shutil
import sys
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from . import config

MANIFEST = config.PROJECT_ROOT / "data" / "manifest.json"
DOWNLOAD_TIMEOUT_S = 30


class MissingDataError(FileNotFoundError):
    """A file the course needs is neither cached, mirrored nor downloadable."""


class ChecksumError(ValueError):
    """A file's size or hash differs from the manifest."""


@dataclass(frozen=True)
class Entry:
    dataset: str
    file: str
    url: str
    mirror: str
    size: int | None = None
    md5: str | None = None
    sha256: str | None = None

    @property
    def cache_path(self) -> Path:
        return config.data_dir() / self.dataset / self.file

    def mirror_path(self) -> Path | None:
        root = config.mirror_dir()
        return root / self.mirror if root else None


def _read_manifest(path: Path | None) -> dict:
    return json.loads(Path(path or MANIFEST).read_text())


def manifest(path: Path | None = None) -> dict[str, list[Entry]]:
    """The manifest as {dataset name: [Entry, ...]}."""
    raw = _read_manifest(path)
    return {name: [Entry(dataset=name, **f) for f in spec["files"]]
            for name, spec in raw["datasets"].items()}


def fetch_command(dataset: str) -> str:
    return f"python -m dlcourse.data fetch {dataset}"


def verify(path: Path, entry: Entry) -> None:
    """Raise ChecksumError unless ``path`` has the size and hash the manifest gives."""
    size = path.stat().st_size
    if entry.size is not None and size != entry.size:
        raise ChecksumError(f"{path} has {size:,} bytes, expected {entry.size:,} "
                            "(truncated or a different file)")
    for algorithm in ("sha256", "md5"):
        expected = getattr(entry, algorithm)
        if expected:
            digest = hashlib.new(algorithm)
            with open(path, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    digest.update(block)
            if digest.hexdigest() != expected:
                raise ChecksumError(f"{path} has {algorithm} {digest.hexdigest()}, "
                                    f"expected {expected}")
            return


def _install(entry: Entry, fill) -> Path:
    """Write the cache file through ``fill(tmp_path)``, verify, then rename into place.

    On any failure the temporary file is removed and the cache is left untouched.
    """
    target = entry.cache_path
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{entry.file}.", suffix=".partial")
    os.close(fd)
    try:
        fill(Path(tmp))
        verify(Path(tmp), entry)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def _download(entry: Entry, dest: Path) -> None:
    request = urllib.request.Request(entry.url, headers={"User-Agent": "dlcourse"})
    with urllib.request.urlopen(request, timeout=DOWNLOAD_TIMEOUT_S) as response, \
            open(dest, "wb") as out:
        total = entry.size or int(response.headers.get("Content-Length") or 0) or None
        with tqdm(total=total, unit="B", unit_scale=True, desc=entry.file) as bar:
            for block in iter(lambda: response.read(1 << 16), b""):
                out.write(block)
                bar.update(len(block))


def fetch_file(entry: Entry, download: bool = True) -> Path:
    """Path of a verified local copy of ``entry``: from cache, mirror or download."""
    cached = entry.cache_path
    if cached.exists():
        if entry.size is None or cached.stat().st_size == entry.size:
            return cached
        print(f"cached {cached} has the wrong size; fetching it again")
        cached.unlink()
    mirrored = entry.mirror_path()
    if mirrored is not None and mirrored.exists():
        try:
            verify(mirrored, entry)
        except ChecksumError as err:
            raise ChecksumError(f"the mirror's copy is bad: {err}") from None
        return _install(entry, lambda tmp: shutil.copyfile(mirrored, tmp))
    where = f" or the mirror {mirrored}" if mirrored is not None else ""
    if not download:
        raise MissingDataError(f"{entry.dataset}/{entry.file} is not in the cache {cached.parent}"
                               f"{where}. Get it with: {fetch_command(entry.dataset)}")
    try:
        return _install(entry, lambda tmp: _download(entry, tmp))
    except ChecksumError as err:
        raise ChecksumError(f"download of {entry.url} is corrupt and was deleted: {err}") from None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as err:
        reason = getattr(err, "reason", err)
        raise MissingDataError(
            f"{entry.dataset}/{entry.file} is not cached{where}, and downloading {entry.url} "
            f"failed ({reason}). On a machine with internet run `{fetch_command(entry.dataset)}` "
            f"and copy {config.data_dir()} here, or set DLCOURSE_DATA_MIRROR to a folder that "
            f"holds {entry.mirror}.") from None


def fetch(dataset: str, download: bool = True) -> dict[str, Path]:
    """Fetch every file of ``dataset``; returns {file name: local path}."""
    entries = manifest()
    if dataset not in entries:
        raise KeyError(f"unknown dataset {dataset!r}; the manifest lists: {', '.join(entries)}")
    return {e.file: fetch_file(e, download=download) for e in entries[dataset]}


def fetch_one(dataset: str, file: str, download: bool = True) -> Path:
    """Local path of one file of ``dataset`` (fetched if needed)."""
    entries = {e.file: e for e in manifest().get(dataset, [])}
    if file not in entries:
        raise KeyError(f"{dataset}/{file} is not in the manifest")
    return fetch_file(entries[file], download=download)


def status() -> list[dict]:
    """One row per file: dataset, file, cached?, in mirror?, size."""
    rows = []
    for entries in manifest().values():
        for e in entries:
            mirrored = e.mirror_path()
            rows.append({"dataset": e.dataset, "file": e.file,
                         "cached": e.cache_path.exists(),
                         "mirror": bool(mirrored and mirrored.exists()),
                         "size": e.size, "path": str(e.cache_path)})
    return rows


# --- MNIST -----------------------------------------------------------------

IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: Path) -> np.ndarray:
    """Parse an IDX file (optionally gzipped), the format MNIST ships in.

    Layout: two zero bytes, one byte for the element type (0x08 = uint8), one
    byte for the number of dimensions d, then d big-endian int32 sizes, then the
    data in C order.
    """
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_DTYPES:
        raise ValueError(f"{path} is not an IDX file (bad magic number {raw[:4].hex()})")
    ndim = raw[3]
    shape = tuple(int(s) for s in np.frombuffer(raw, ">i4", count=ndim, offset=4))
    data = np.frombuffer(raw, IDX_DTYPES[raw[2]], offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise ValueError(f"{path} holds {data.size} values but its header says {shape}")
    return data.reshape(shape)


def _mnist_arrays(prefix: str, download: bool) -> tuple[np.ndarray, np.ndarray]:
    images = read_idx(fetch_one("mnist", f"{prefix}-images-idx3-ubyte.gz", download))
    labels = read_idx(fetch_one("mnist", f"{prefix}-labels-idx1-ubyte.gz", download))
    return images, labels


def load_mnist(one_hot: bool = False, flatten: bool = False, download: bool = True,
               offline_split: tuple[int, int] = (8_000, 2_000), seed: int = 0):
    """MNIST as ``((x_train, y_train), (x_test, y_test))``.

    x: float32 in [0, 1], shape (N, 28, 28, 1) (or (N, 784) with ``flatten``).
    y: int64 labels of shape (N,), or float32 one-hot of shape (N, 10).
    Uses the official 60k/10k split when the training files can be had. When only
    the 10k test split is available (the offline mirror), it is shuffled with
    ``seed`` and split into ``offline_split`` train/test parts, with a notice.
    """
    test = _mnist_arrays("t10k", download)
    try:
        train = _mnist_arrays("train", download)
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


# --- command line ------------------------------------------------------------

def print_status() -> None:
    """Print the cache and mirror folders and the state of every file of the manifest."""
    mirror = config.mirror_dir()
    print(f"cache:  {config.data_dir()}")
    print(f"mirror: {mirror if mirror else '(none; set DLCOURSE_DATA_MIRROR)'}")
    rows = status()
    width = max(len(f"{r['dataset']}/{r['file']}") for r in rows)
    for r in rows:
        state = "cached" if r["cached"] else ("in mirror" if r["mirror"] else "missing")
        size = f"{r['size'] / 1e6:8.2f} MB" if r["size"] else "       ? MB"
        print(f"  {r['dataset'] + '/' + r['file']:<{width}}  {size}  {state}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dlcourse.data",
                                     description="Fetch and inspect the course's datasets.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("status", help="show what is cached, mirrored or missing")
    get = sub.add_parser("fetch", help="download datasets into the cache")
    get.add_argument("names", nargs="*", default=["all"], help="dataset names, or 'all'")
    args = parser.parse_args(argv)
    if args.command == "status":
        print_status()
        return 0
    known = list(manifest())
    names = known if args.names in ([], ["all"]) else args.names
    unknown = [n for n in names if n not in known]
    if unknown:
        parser.error(f"unknown dataset(s) {', '.join(unknown)}; choose from {', '.join(known)}")
    failed = 0
    for name in names:
        try:
            paths = fetch(name)
            print(f"{name}: ok ({len(paths)} file(s) in {config.data_dir() / name})")
        except (MissingDataError, ChecksumError) as err:
            failed += 1
            print(f"{name}: FAILED: {err}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
