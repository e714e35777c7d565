import gzip
import hashlib
import json
import os

import numpy as np
import pytest

from dlcourse import data

REAL_MIRROR = os.environ.get("DLCOURSE_DATA_MIRROR")


def write_idx(path, array):
    """An IDX file (gzipped) of uint8 ``array``: the format MNIST ships in."""
    header = bytes([0, 0, 0x08, array.ndim]) + np.array(array.shape, ">i4").tobytes()
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


@pytest.fixture
def source(tmp_path):
    """A folder standing in for the internet (file:// URLs) and a mirror folder."""
    (tmp_path / "web").mkdir()
    (tmp_path / "mirror" / "toy").mkdir(parents=True)
    return tmp_path


def make_entry(source, name="toy.bin", content=b"hello course", online=True, **overrides):
    path = source / "web" / name
    path.write_bytes(content)
    fields = dict(dataset="toy", file=name, url=path.as_uri() if online else
                  (source / "web" / "nowhere").as_uri(), mirror=f"toy/{name}",
                  size=len(content), sha256=hashlib.sha256(content).hexdigest())
    fields.update(overrides)
    return data.Entry(**fields)


def test_download_verifies_and_caches(source, data_cache):
    entry = make_entry(source)
    path = data.fetch_file(entry)
    assert path == data_cache / "toy" / "toy.bin"
    assert path.read_bytes() == b"hello course"
    assert not list(path.parent.glob("*.partial"))


def test_wrong_hash_is_deleted_and_named(source, data_cache):
    entry = make_entry(source, sha256="0" * 64)
    with pytest.raises(data.ChecksumError, match="corrupt and was deleted.*sha256"):
        data.fetch_file(entry)
    assert not entry.cache_path.exists()
    assert not list((data_cache / "toy").glob("*"))


def test_md5_is_checked_when_it_is_the_published_hash(source, data_cache):
    content = b"md5 only"
    entry = make_entry(source, content=content, sha256=None, md5="f" * 32)
    with pytest.raises(data.ChecksumError, match="md5"):
        data.fetch_file(entry)
    good = make_entry(source, content=content, sha256=None,
                      md5=hashlib.md5(content).hexdigest())
    assert data.fetch_file(good).read_bytes() == content


def test_truncated_download_never_lands(source, data_cache):
    entry = make_entry(source, size=len(b"hello course") + 100, sha256=None)
    with pytest.raises(data.ChecksumError, match="truncated"):
        data.fetch_file(entry)
    assert not entry.cache_path.exists()


def test_truncated_cache_file_is_fetched_again(source, data_cache):
    entry = make_entry(source)
    entry.cache_path.parent.mkdir(parents=True)
    entry.cache_path.write_bytes(b"hello")
    assert data.fetch_file(entry).read_bytes() == b"hello course"


def test_missing_offline_names_file_and_command(source, data_cache):
    entry = make_entry(source, online=False)
    with pytest.raises(data.MissingDataError) as err:
        data.fetch_file(entry)
    message = str(err.value)
    assert "toy/toy.bin" in message and "python -m dlcourse.data fetch toy" in message


def test_no_download_requested(source, data_cache):
    with pytest.raises(data.MissingDataError, match="fetch toy"):
        data.fetch_file(make_entry(source), download=False)


def test_mirror_is_used_first_and_verified(source, data_cache, monkeypatch):
    monkeypatch.setenv("DLCOURSE_DATA_MIRROR", str(source / "mirror"))
    entry = make_entry(source, online=False)
    (source / "mirror" / "toy" / "toy.bin").write_bytes(b"hello course")
    assert data.fetch_file(entry).read_bytes() == b"hello course"


def test_bad_mirror_copy_is_refused(source, data_cache, monkeypatch):
    monkeypatch.setenv("DLCOURSE_DATA_MIRROR", str(source / "mirror"))
    entry = make_entry(source)
    (source / "mirror" / "toy" / "toy.bin").write_bytes(b"tampered!!!!")
    with pytest.raises(data.ChecksumError, match="mirror's copy is bad"):
        data.fetch_file(entry)
    assert not entry.cache_path.exists()


def test_read_idx_round_trip_and_bad_magic(tmp_path):
    array = np.arange(2 * 3 * 4).reshape(2, 3, 4)
    write_idx(tmp_path / "a.gz", array)
    np.testing.assert_array_equal(data.read_idx(tmp_path / "a.gz"), array)
    (tmp_path / "b").write_bytes(b"PK\x03\x04junk")
    with pytest.raises(ValueError, match="not an IDX file"):
        data.read_idx(tmp_path / "b")


@pytest.fixture
def toy_mnist(tmp_path, monkeypatch, data_cache):
    """A manifest whose MNIST files are small generated IDX files in a mirror."""
    rng = np.random.default_rng(1)
    mirror = tmp_path / "toy-mirror" / "mnist"
    mirror.mkdir(parents=True)
    files = []
    for prefix, n in (("train", 60), ("t10k", 50)):
        for kind, array in (("images", rng.integers(0, 256, (n, 28, 28))),
                            ("labels", rng.integers(0, 10, n))):
            name = f"{prefix}-{kind}-idx{3 if kind == 'images' else 1}-ubyte.gz"
            write_idx(mirror / name, array)
            files.append({"file": name, "url": (tmp_path / "offline" / name).as_uri(),
                          "size": (mirror / name).stat().st_size,
                          "sha256": hashlib.sha256((mirror / name).read_bytes()).hexdigest(),
                          "mirror": f"mnist/{name}"})
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"datasets": {"mnist": {"description": "toy",
                                                           "files": files}}}))
    monkeypatch.setattr(data, "MANIFEST", manifest)
    monkeypatch.setenv("DLCOURSE_DATA_MIRROR", str(tmp_path / "toy-mirror"))
    return mirror


def test_mnist_full_split_when_training_files_exist(toy_mnist):
    (x, y), (xt, yt) = data.load_mnist()
    assert x.shape == (60, 28, 28, 1) and xt.shape == (50, 28, 28, 1)
    assert x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1
    assert y.shape == (60,) and y.dtype == np.int64


def test_mnist_offline_split_from_partial_mirror(toy_mnist, capsys):
    for name in os.listdir(toy_mnist):
        if name.startswith("train"):
            os.remove(toy_mnist / name)
    (x, y), (xt, yt) = data.load_mnist(one_hot=True, flatten=True, offline_split=(40, 10))
    assert "NOTICE" in capsys.readouterr().out
    assert x.shape == (40, 784) and xt.shape == (10, 784)
    assert y.shape == (40, 10) and np.all(y.sum(axis=1) == 1)
    with pytest.raises(ValueError, match="offline_split"):
        data.load_mnist(offline_split=(45, 10))


def test_real_mnist_test_split_from_mirror(data_cache, monkeypatch):
    mirror = REAL_MIRROR
    if not mirror or not os.path.isdir(os.path.join(mirror, "mnist")):
        pytest.skip("DLCOURSE_DATA_MIRROR does not name a mirror with MNIST")
    monkeypatch.setenv("DLCOURSE_DATA_MIRROR", mirror)
    images, labels = data._mnist_arrays("t10k", download=False)
    assert images.shape == (10_000, 28, 28) and images.dtype == np.uint8
    # Well-known facts of the official test split: it starts 7, 2, 1, 0, 4 and
    # holds 980 zeros and 1,135 ones.
    assert labels[:5].tolist() == [7, 2, 1, 0, 4]
    assert np.bincount(labels)[:2].tolist() == [980, 1135]


def test_fetch_one_names_unknown_files(data_cache):
    with pytest.raises(KeyError, match="mnist/nope.gz is not in the manifest"):
        data.fetch_one("mnist", "nope.gz")


def test_cli_status_and_fetch(toy_mnist, capsys):
    assert data.main(["status"]) == 0
    out = capsys.readouterr().out
    assert "mnist/t10k-images-idx3-ubyte.gz" in out and "in mirror" in out
    assert data.main(["fetch", "mnist"]) == 0
    assert "mnist: ok (4 file(s)" in capsys.readouterr().out
    assert data.main(["status"]) == 0
    assert "cached" in capsys.readouterr().out


def test_cli_fetch_failure_and_unknown_name(toy_mnist, capsys, monkeypatch):
    monkeypatch.delenv("DLCOURSE_DATA_MIRROR")
    assert data.main(["fetch", "mnist"]) == 1
    assert "mnist: FAILED" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        data.main(["fetch", "imagenet"])
    assert "unknown dataset(s) imagenet" in capsys.readouterr().err
