import gzip
import hashlib
import http.server
import json
import os
import subprocess
import sys
import threading
import time
import zipfile

import numpy as np
import pytest

from dlcourse import config, data

from conftest import ROOT

REAL_MIRROR = os.environ.get("DLCOURSE_DATA_MIRROR")
needs_real_mirror = pytest.mark.skipif(
    not REAL_MIRROR or not os.path.isdir(os.path.join(REAL_MIRROR, "mnist")),
    reason="DLCOURSE_DATA_MIRROR does not name a mirror with MNIST")


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


def no_leftovers(folder):
    return not [p for p in folder.rglob("*") if p.name.endswith(".partial")]


def cached_with_two_partials(source, data_layer=data):
    """A toy entry fetched by ``data_layer`` (dlcourse.data, or a copy imported without
    fcntl), and two ``.partial`` files beside it: (entry, stale, live)."""
    entry = make_entry(source)
    data_layer.fetch_file(entry)
    folder = entry.cache_path.parent
    stale, live = folder / ".toy.bin.dead.partial", folder / ".other.bin.alive.partial"
    stale.write_bytes(b"half a file")
    live.write_bytes(b"being written")
    return entry, stale, live


def use_manifest(source, monkeypatch, *entries):
    """Make the manifest one that lists ``entries`` (data.Entry objects)."""
    datasets = {}
    for e in entries:
        spec = {"file": e.file, "url": e.url, "mirror": e.mirror, "size": e.size}
        spec.update({f: list(v) if isinstance(v, tuple) else v
                     for f in ("md5", "sha256", "content_md5") if (v := getattr(e, f))})
        datasets.setdefault(e.dataset, {"files": []})["files"].append(spec)
    path = source / "manifest.json"
    path.write_text(json.dumps({"datasets": datasets}))
    monkeypatch.setenv("DLCOURSE_MANIFEST", str(path))


# --- download, mirror, verification ---------------------------------------------

def test_download_verifies_and_caches(source, data_cache):
    entry = make_entry(source)
    path = data.fetch_file(entry)
    assert path == data_cache / "toy" / "toy.bin"
    assert path.read_bytes() == b"hello course"
    assert no_leftovers(data_cache)


def test_cached_file_is_readable_by_everyone_even_under_a_strict_umask(source, data_cache):
    old = os.umask(0o077)
    try:
        path = data.fetch_file(make_entry(source))
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644


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


def test_any_of_several_listed_hashes_is_accepted(source, data_cache):
    content = b"a verified copy"
    entry = make_entry(source, content=content,
                       sha256=("0" * 64, hashlib.sha256(content).hexdigest()),
                       md5="1" * 32, size=999)
    assert data.fetch_file(entry).read_bytes() == content


def test_recompressed_gzip_accepted_by_content_md5_and_nothing_else(source, data_cache,
                                                                     monkeypatch):
    """The mirror's MNIST training files: same content, gzip-compressed again."""
    payload = bytes(range(256)) * 40
    upstream = gzip.compress(payload, mtime=0, compresslevel=9)
    copy = gzip.compress(payload, mtime=12345, compresslevel=1)
    assert copy != upstream
    monkeypatch.setenv("DLCOURSE_DATA_MIRROR", str(source / "mirror"))
    (source / "mirror" / "toy" / "t.gz").write_bytes(copy)
    entry = make_entry(source, name="t.gz", content=upstream, online=False, sha256=None,
                       md5=hashlib.md5(upstream).hexdigest(),
                       content_md5=hashlib.md5(payload).hexdigest())
    path = data.fetch_file(entry)
    assert gzip.decompress(path.read_bytes()) == payload
    data.fetch_file(entry)  # a second load uses the cache (its size was recorded)

    other = gzip.compress(payload + b"!", mtime=0)
    (source / "mirror" / "toy" / "u.gz").write_bytes(other)
    wrong = make_entry(source, name="u.gz", content=upstream, online=False, sha256=None,
                       md5=hashlib.md5(upstream).hexdigest(),
                       content_md5=hashlib.md5(payload).hexdigest())
    with pytest.raises(data.ChecksumError, match="content_md5"):
        data.fetch_file(wrong)
    (source / "mirror" / "toy" / "u.gz").write_bytes(b"not gzip at all")
    with pytest.raises(data.ChecksumError, match="not gzip-readable"):
        data.fetch_file(wrong)


def test_truncated_download_never_lands(source, data_cache):
    entry = make_entry(source, size=len(b"hello course") + 100, sha256=None)
    with pytest.raises(data.ChecksumError, match="truncated"):
        data.fetch_file(entry)
    assert not entry.cache_path.exists()


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


# --- a damaged cache ---------------------------------------------------------------

@pytest.mark.parametrize("damage", ["truncated", "empty", "folder"])
def test_damaged_cache_file_names_itself_and_the_repair(source, data_cache, damage,
                                                        monkeypatch, capsys):
    entry = make_entry(source)
    data.fetch_file(entry)
    path = entry.cache_path
    if damage == "truncated":
        path.write_bytes(b"hello")
    elif damage == "empty":
        path.write_bytes(b"")
    else:
        path.unlink()
        path.mkdir()
    with pytest.raises(data.CorruptDataError) as err:
        data.fetch_file(entry)
    message = str(err.value)
    assert "toy/toy.bin" in message and "verify --repair toy" in message
    assert err.value._render_traceback_() == [f"CorruptDataError: {message}"]
    # the repair command fetches it again
    use_manifest(source, monkeypatch, entry)
    assert data.main(["verify", "toy"]) == 1
    assert "toy/toy.bin: damaged" in capsys.readouterr().out
    assert data.main(["verify", "--repair", "toy"]) == 0
    assert "fetched again" in capsys.readouterr().out
    assert data.fetch_file(entry).read_bytes() == b"hello course"


@pytest.mark.parametrize("damage", ["manifest hash wrong", "file truncated"])
def test_repair_keeps_the_file_and_fails_when_no_verified_copy_can_be_had(
        source, data_cache, monkeypatch, capsys, damage):
    """Issue #26.3: offline, --repair deleted the file, then could not fetch it, and said 0."""
    data.fetch_file(make_entry(source))
    offline = make_entry(source, online=False)
    if damage == "manifest hash wrong":
        offline = make_entry(source, online=False, sha256="0" * 64)
    else:
        offline.cache_path.write_bytes(b"hello")
    kept = offline.cache_path.read_bytes()
    use_manifest(source, monkeypatch, offline)
    assert data.main(["verify", "--repair", "toy"]) == 1
    out = capsys.readouterr().out
    assert "toy/toy.bin: damaged" in out and "kept as it was" in out and "0 repaired" in out
    assert offline.cache_path.read_bytes() == kept
    # with a good copy in the mirror, the same repair replaces it and succeeds
    monkeypatch.setenv("DLCOURSE_DATA_MIRROR", str(source / "mirror"))
    (source / "mirror" / "toy" / "toy.bin").write_bytes(b"hello course")
    assert data.main(["verify", "--repair", "toy"]) == (1 if damage == "manifest hash wrong"
                                                         else 0)


@pytest.mark.parametrize("how", ["copied by hand", "overwritten after its receipt",
                                 "manifest changed after its receipt"])
def test_a_cached_file_of_the_right_size_but_wrong_content_is_refused(source, data_cache,
                                                                      monkeypatch, how):
    """Issue #26.4: a cached file whose size matched was used without a hash check."""
    entry = make_entry(source)
    if how == "copied by hand":
        entry.cache_path.parent.mkdir(parents=True)
        entry.cache_path.write_bytes(b"hello COURSE")
    else:
        data.fetch_file(entry)
        assert entry.receipt_path.exists()
    if how == "overwritten after its receipt":
        time.sleep(0.05)  # file times tick in milliseconds; a person takes longer
        with open(entry.cache_path, "r+b") as f:  # in place, like `head -c N > file`
            f.write(os.urandom(entry.size))
    elif how == "manifest changed after its receipt":
        entry = make_entry(source, sha256=hashlib.sha256(b"hello COURSE").hexdigest())
    with pytest.raises(data.CorruptDataError, match="toy/toy.bin is damaged.*sha256"):
        data.fetch_file(entry)


def test_a_receipt_spares_the_hashing_only_while_it_holds(source, data_cache, monkeypatch):
    entry = make_entry(source)
    data.fetch_file(entry)
    hashed = []
    real_new = hashlib.new
    monkeypatch.setattr(hashlib, "new", lambda name, *a: hashed.append(name) or real_new(name, *a))
    data.fetch_file(entry)
    assert hashed == []  # the receipt holds: no hashing
    entry.receipt_path.write_text("")  # a half-written receipt (full disk) vouches for nothing
    data.fetch_file(entry)
    assert hashed == ["sha256"]
    data.fetch_file(entry)  # ... and the receipt written again holds
    assert hashed == ["sha256"]


@needs_real_mirror
def test_bad_gzip_in_cache_is_one_line_not_a_gzip_traceback(data_cache, monkeypatch):
    monkeypatch.setenv("DLCOURSE_DATA_MIRROR", REAL_MIRROR)
    path = data.fetch_one("mnist", "t10k-labels-idx1-ubyte.gz")
    raw = bytearray(path.read_bytes())
    raw[20:40] = b"\xff" * 20  # same size, damaged deflate stream
    path.write_bytes(bytes(raw))
    with pytest.raises(data.CorruptDataError, match="t10k-labels.*verify --repair mnist"):
        data.mnist_arrays("t10k")


# --- downloads that stall, get interrupted, or cannot be written -------------------

@pytest.fixture
def trickle_server():
    """An HTTP server on loopback that sends one byte every 0.2 s (at most 50 bytes)."""
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", "50")
            self.end_headers()
            for _ in range(50):
                try:
                    self.wfile.write(b"x")
                    self.wfile.flush()
                except OSError:
                    return
                time.sleep(0.2)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/file.bin"
    server.shutdown()
    server.server_close()


@pytest.mark.slow  # about a second or more: waits out a download deadline
def test_a_trickling_server_hits_the_overall_deadline(trickle_server, source, data_cache,
                                                      monkeypatch):
    monkeypatch.setenv("DLCOURSE_DOWNLOAD_DEADLINE", "1")
    entry = make_entry(source, url=trickle_server, size=50, sha256=None)
    start = time.monotonic()
    with pytest.raises(data.MissingDataError, match="not finished after 1 s"):
        data.fetch_file(entry)
    assert time.monotonic() - start < 5
    assert not entry.cache_path.exists() and no_leftovers(data_cache)


@pytest.mark.slow  # half a second or more
def test_an_interrupted_download_leaves_nothing_behind(trickle_server, source, data_cache,
                                                       monkeypatch):
    class InterruptedBar:
        def __init__(self, *args, **kwargs):
            self.updates = 0

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def update(self, n):
            self.updates += 1
            if self.updates == 3:
                raise KeyboardInterrupt

    monkeypatch.setattr("dlcourse.data.cache.tqdm", InterruptedBar)
    entry = make_entry(source, url=trickle_server, size=50, sha256=None)
    with pytest.raises(KeyboardInterrupt):
        data.fetch_file(entry)
    assert not entry.cache_path.exists() and no_leftovers(data_cache)


def test_a_cache_folder_that_cannot_be_written_is_one_line(source, data_cache, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("dlcourse.data.cache.tempfile.mkstemp", refuse)
    with pytest.raises(data.CacheNotWritableError, match="cannot write to the data cache.*"
                       "DLCOURSE_DATA_DIR"):
        data.fetch_file(make_entry(source))


def test_bad_deadline_setting_is_named(monkeypatch):
    monkeypatch.setenv("DLCOURSE_DOWNLOAD_DEADLINE", "soon")
    with pytest.raises(ValueError, match="DLCOURSE_DOWNLOAD_DEADLINE='soon'"):
        config.download_deadline()


# --- settings ---------------------------------------------------------------------

def test_empty_environment_variables_mean_unset(monkeypatch):
    for name in ("DLCOURSE_DATA_DIR", "DLCOURSE_DATA_MIRROR", "DLCOURSE_QUICK",
                 "DLCOURSE_RESULTS", "DLCOURSE_MANIFEST"):
        monkeypatch.setenv(name, "")
    assert config.data_dir() == ROOT / "data"
    assert config.mirror_dir() is None
    assert config.quick_mode() is False and config.mode_name() == "full"
    assert config.results_path() == ROOT / "build" / "results.json"
    assert config.manifest_path() == config.MANIFEST


# --- the manifest -------------------------------------------------------------------

def test_shipped_manifest_is_valid_and_lists_every_dataset():
    entries = data.manifest()
    assert {"mnist", "tinyshakespeare", "text8", "style", "vgg16", "vgg19"} <= set(entries)
    assert config.MANIFEST.parent == config.PACKAGE_DIR / "data"
    train = {e.file: e for e in entries["mnist"]}["train-images-idx3-ubyte.gz"]
    assert train.md5 == "f68b3c2dcbeaaa9fbdd348bbdeb94873"
    assert train.content_md5 == "6bbc9ace898e44ae57da46a324031adb"


def broken_manifest(tmp_path, monkeypatch, text):
    path = tmp_path / "broken.json"
    path.write_text(text if isinstance(text, str) else json.dumps(text))
    monkeypatch.setenv("DLCOURSE_MANIFEST", str(path))
    return path


GOOD_FILE = {"file": "a.bin", "url": "https://example.org/a.bin", "mirror": "toy/a.bin",
             "size": 3}


@pytest.mark.parametrize("content, complaint", [
    ("{not json", "is not valid JSON"),
    ({"sets": {}}, "needs a top-level object"),
    ({"datasets": {"toy": {"files": []}}}, "toy' needs a non-empty \"files\" list"),
    ({"datasets": {"toy": {"files": [{**GOOD_FILE, "size": None}]}}},
     "toy/a.bin has neither a size nor a hash"),
    ({"datasets": {"toy": {"files": [{**GOOD_FILE, "md5": "abc"}]}}},
     "toy/a.bin: 'md5' must be 32 hex digits"),
    ({"datasets": {"toy": {"files": [{**GOOD_FILE, "sha265": "0" * 64}]}}},
     r"toy/a.bin has unknown field\(s\) \['sha265'\]"),
    ({"datasets": {"toy": {"files": [{**GOOD_FILE, "size": -1}]}}},
     "toy/a.bin: 'size' must be a positive whole number"),
    ({"datasets": {"toy": {"files": [{k: v for k, v in GOOD_FILE.items() if k != "url"}]}}},
     "toy/a.bin needs a non-empty string 'url'"),
])
def test_malformed_manifest_names_file_entry_and_problem(tmp_path, monkeypatch, content,
                                                         complaint):
    path = broken_manifest(tmp_path, monkeypatch, content)
    with pytest.raises(data.ManifestError, match=complaint) as err:
        data.fetch("toy")
    assert str(path) in str(err.value)


def test_unknown_names_are_value_errors_listing_what_exists():
    with pytest.raises(ValueError, match="unknown dataset 'imagenet'.*mnist"):
        data.fetch("imagenet")
    with pytest.raises(ValueError, match="mnist/nope.gz is not in the manifest.*t10k"):
        data.fetch_one("mnist", "nope.gz")


@pytest.mark.slow  # half a second or more
def test_manifest_works_from_any_directory(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", "from dlcourse import data; print(len(data.manifest()))"],
        cwd=tmp_path, capture_output=True, text=True, env={**os.environ, "DLCOURSE_MANIFEST": ""})
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) >= 6


@pytest.mark.slow
def test_the_wheel_ships_the_manifest(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--no-build-isolation", "--wheel-dir", str(tmp_path), str(ROOT)],
                   check=True, capture_output=True)
    (wheel,) = tmp_path.glob("dlcourse-*.whl")
    assert "dlcourse/data/manifest.json" in zipfile.ZipFile(wheel).namelist()


# --- MNIST --------------------------------------------------------------------------

def test_read_idx_round_trip_and_bad_input(tmp_path):
    array = np.arange(2 * 3 * 4).reshape(2, 3, 4)
    write_idx(tmp_path / "a.gz", array)
    np.testing.assert_array_equal(data.read_idx(tmp_path / "a.gz"), array)
    (tmp_path / "b").write_bytes(b"PK\x03\x04junk")
    with pytest.raises(ValueError, match="not an IDX file"):
        data.read_idx(tmp_path / "b")
    (tmp_path / "c.gz").write_bytes(b"\x1f\x8b\x08garbage")
    with pytest.raises(ValueError, match="c.gz is not a readable gzip file"):
        data.read_idx(tmp_path / "c.gz")


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
    monkeypatch.setenv("DLCOURSE_MANIFEST", str(manifest))
    monkeypatch.setenv("DLCOURSE_DATA_MIRROR", str(tmp_path / "toy-mirror"))
    return mirror


def test_mnist_full_split_when_training_files_exist(toy_mnist, capsys):
    (x, y), (xt, yt) = data.load_mnist()
    assert "the official split, 60 training and 50 test" in capsys.readouterr().out
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


@needs_real_mirror
def test_real_mnist_from_mirror_including_the_recompressed_training_files(data_cache,
                                                                          monkeypatch):
    monkeypatch.setenv("DLCOURSE_DATA_MIRROR", REAL_MIRROR)
    images, labels = data.mnist_arrays("t10k", download=False)
    assert images.shape == (10_000, 28, 28) and images.dtype == np.uint8
    # Well-known facts of the official test split: it starts 7, 2, 1, 0, 4 and
    # holds 980 zeros and 1,135 ones.
    assert labels[:5].tolist() == [7, 2, 1, 0, 4]
    assert np.bincount(labels)[:2].tolist() == [980, 1135]
    images, labels = data.mnist_arrays("train", download=False)
    # ... and of the training split: it starts 5, 0, 4, 1, 9 and holds 5,923 zeros.
    assert images.shape == (60_000, 28, 28)
    assert labels[:5].tolist() == [5, 0, 4, 1, 9] and np.bincount(labels)[0] == 5923


# --- command line ---------------------------------------------------------------------

def test_cli_status_and_fetch(toy_mnist, capsys):
    assert data.main(["status"]) == 0
    out = capsys.readouterr().out
    assert "mnist/t10k-images-idx3-ubyte.gz" in out and "in mirror" in out
    assert data.main(["fetch", "mnist"]) == 0
    assert "mnist: ok (4 file(s)" in capsys.readouterr().out
    assert data.main(["status"]) == 0
    assert "cached" in capsys.readouterr().out
    assert data.main(["verify"]) == 0
    assert "0 damaged" in capsys.readouterr().out


def test_cli_fetch_failure_and_unknown_name(toy_mnist, capsys, monkeypatch):
    monkeypatch.delenv("DLCOURSE_DATA_MIRROR")
    assert data.main(["fetch", "mnist"]) == 1
    out, err = capsys.readouterr()
    assert "mnist: INCOMPLETE (0 of 4 file(s)" in out
    assert "mnist/t10k-images-idx3-ubyte.gz: FAILED" in err
    with pytest.raises(SystemExit):
        data.main(["fetch", "imagenet"])
    assert "unknown dataset(s) imagenet" in capsys.readouterr().err


def test_cli_reports_a_broken_manifest(tmp_path, monkeypatch, capsys):
    broken_manifest(tmp_path, monkeypatch, "[1, 2")
    assert data.main(["status"]) == 2
    assert "broken.json is not valid JSON" in capsys.readouterr().err
