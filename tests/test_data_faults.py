"""The data layer when things go wrong around it: stalled servers, killed downloads, folders
and disks that cannot be written or read, bad settings, a partial mirror (issue #26)."""

import builtins
import errno
import fcntl
import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import test_data
from test_data import cached_with_two_partials, make_entry, no_leftovers, use_manifest

from dlcourse import data

source, trickle_server = test_data.source, test_data.trickle_server  # shared fixtures


def one_line(text):
    """The CLI's error output: exactly one line, no traceback."""
    lines = text.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in text, text
    return lines[0]


# --- downloads that never answer or get killed ------------------------------------------

@pytest.fixture
def silent_server():
    """A loopback server that accepts connections (the kernel's backlog) and never answers."""
    server = socket.create_server(("127.0.0.1", 0))
    yield f"http://127.0.0.1:{server.getsockname()[1]}/file.bin"
    server.close()  # resets the waiting connection, which ends the download thread


@pytest.mark.slow  # about a second or more: waits out a download deadline
def test_the_deadline_bounds_connection_and_headers_too(silent_server, source, data_cache,
                                                        monkeypatch):
    """Issue #26.12: a server that never sent its headers held the learner 30 s."""
    monkeypatch.setenv("DLCOURSE_DOWNLOAD_DEADLINE", "2")
    entry = make_entry(source, url=silent_server)
    start = time.monotonic()
    with pytest.raises(data.MissingDataError, match="not finished after 2 s"):
        data.fetch_file(entry)
    assert time.monotonic() - start < 6
    assert not entry.cache_path.exists() and no_leftovers(data_cache)


@pytest.mark.slow  # half a second or more
def test_a_killed_download_leaves_a_partial_the_next_fetch_removes(trickle_server, source,
                                                                   data_cache):
    """Issue #26.13: SIGKILL left a .partial behind that nothing removed."""
    script = ("from dlcourse import data; data.fetch_file(data.Entry(dataset='toy', "
              f"file='toy.bin', url={trickle_server!r}, mirror='toy/toy.bin', size=50))")
    child = subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.DEVNULL,
                             env={**os.environ, "DLCOURSE_DATA_DIR": str(data_cache)})
    deadline = time.monotonic() + 20
    while no_leftovers(data_cache) and time.monotonic() < deadline:
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert not no_leftovers(data_cache)  # the killed writer's partial is there
    (data_cache / "toy" / "..toy.bin.verified.dead.partial").write_text("{")  # and a receipt's
    assert data.fetch_file(make_entry(source)).read_bytes() == b"hello course"
    assert no_leftovers(data_cache)


def test_repair_removes_stale_partials_but_not_a_live_writers(source, data_cache, monkeypatch):
    entry, stale, live = cached_with_two_partials(source)
    use_manifest(source, monkeypatch, entry)
    with open(live, "rb") as writer:
        fcntl.flock(writer, fcntl.LOCK_EX)  # what a fetch in progress holds on its partial
        assert data.main(["verify", "--repair", "toy"]) == 0
    assert not stale.exists() and live.exists()
    assert entry.cache_path.read_bytes() == b"hello course"


def test_fetches_of_one_file_at_once_do_not_disturb_each_other(source, data_cache):
    entry = make_entry(source, content=os.urandom(300_000))
    with ThreadPoolExecutor(8) as pool:
        paths = list(pool.map(lambda _: data.fetch_file(entry), range(16)))
    assert set(paths) == {entry.cache_path}
    assert entry.cache_path.read_bytes() == (source / "web" / "toy.bin").read_bytes()
    assert no_leftovers(data_cache)


# --- folders and disks that cannot be written --------------------------------------------

@pytest.fixture
def tmpfs(tmp_path):
    """mount(size, read_only=False): a small tmpfs below tmp_path (skips unless root)."""
    points = []

    def mount(size):
        point = tmp_path / f"disk{len(points)}"
        point.mkdir()
        result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs",
                                 str(point)], capture_output=True)
        if result.returncode:
            pytest.skip("cannot mount a tmpfs here (needs root)")
        points.append(point)
        return point

    yield mount
    for point in points:
        subprocess.run(["umount", "-l", str(point)], check=True)


@pytest.mark.parametrize("where", ["/proc/dlcourse-cache", "below a regular file"])
def test_a_cache_folder_that_cannot_be_created_is_one_line(source, tmp_path, monkeypatch,
                                                           capsys, where):
    """Issue #26.15."""
    if where == "below a regular file":
        (tmp_path / "file").write_text("not a folder")
        where = tmp_path / "file" / "cache"
    monkeypatch.setenv("DLCOURSE_DATA_DIR", str(where))
    entry = make_entry(source)
    with pytest.raises(data.CacheNotWritableError, match="cannot write to the data cache"):
        data.fetch_file(entry)
    use_manifest(source, monkeypatch, entry)
    assert data.main(["fetch", "toy"]) == 1
    assert "DLCOURSE_DATA_DIR" in one_line(capsys.readouterr().err)


def test_a_read_only_cache_is_still_used_and_refuses_new_files(source, data_cache, tmpfs,
                                                               monkeypatch, capsys):
    """Issue #26.15: a copied cache on a read-only medium, without receipts."""
    disk = tmpfs("1m")
    monkeypatch.setenv("DLCOURSE_DATA_DIR", str(disk))
    cached, new = make_entry(source), make_entry(source, name="new.bin")
    data.fetch_file(cached)
    cached.receipt_path.unlink()
    subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
    with pytest.warns(UserWarning, match="could not record.*Read-only file system"):
        assert data.fetch_file(cached).read_bytes() == b"hello course"  # hashed, not recorded
    with pytest.raises(data.CacheNotWritableError, match="Read-only file system"):
        data.fetch_file(new)
    use_manifest(source, monkeypatch, cached, new)
    capsys.readouterr()
    assert data.main(["verify", "toy"]) == 0
    assert one_line(capsys.readouterr().err).startswith("warning: could not record")
    assert data.main(["fetch", "toy"]) == 1
    assert "toy/new.bin: FAILED: cannot write" in capsys.readouterr().err


def test_a_full_disk_fails_in_one_line_and_leaves_nothing(source, tmpfs, monkeypatch):
    """Issue #26.15."""
    disk = tmpfs("64k")
    monkeypatch.setenv("DLCOURSE_DATA_DIR", str(disk))
    entry = make_entry(source, content=os.urandom(200_000))
    with pytest.raises(data.CacheNotWritableError, match="No space left on device"):
        data.fetch_file(entry)
    assert not entry.cache_path.exists() and no_leftovers(disk)


def test_a_disk_that_fills_up_at_the_receipt_leaves_no_empty_receipt(source, tmpfs,
                                                                     monkeypatch):
    """Issue #26.15: the receipt was left with 0 bytes and the fetch failed."""
    disk = tmpfs("16k")  # exactly the file: the receipt finds no room
    monkeypatch.setenv("DLCOURSE_DATA_DIR", str(disk))
    entry = make_entry(source, content=os.urandom(16_384))
    with pytest.warns(UserWarning, match="No space left on device.*hashed again"):
        assert data.fetch_file(entry).stat().st_size == 16_384
    assert not entry.receipt_path.exists() and no_leftovers(disk)


# --- files and folders that cannot be read -----------------------------------------------

def deny(monkeypatch, path, call="open"):
    """Make ``call`` (builtins.open or os.stat) of ``path``, or below it, fail as for a
    user without permission (root reads everything, so chmod cannot show it)."""
    module = builtins if call == "open" else os
    real = getattr(module, call)

    def guarded(file, *args, **kwargs):
        if isinstance(file, str | os.PathLike) and os.fspath(file).startswith(str(path)):
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(file))
        return real(file, *args, **kwargs)

    monkeypatch.setattr(module, call, guarded)


def test_an_unreadable_mirror_file_is_one_line(source, data_cache, monkeypatch, capsys):
    """Issue #26.15."""
    monkeypatch.setenv("DLCOURSE_DATA_MIRROR", str(source / "mirror"))
    entry = make_entry(source, online=False)
    (source / "mirror" / "toy" / "toy.bin").write_bytes(b"hello course")
    deny(monkeypatch, source / "mirror" / "toy" / "toy.bin")
    with pytest.raises(data.UnreadableDataError, match="cannot read the mirror's copy.*"
                       "Permission denied"):
        data.fetch_file(entry)
    use_manifest(source, monkeypatch, entry)
    assert data.main(["fetch", "toy"]) == 1
    assert "Permission denied" in one_line(capsys.readouterr().err)


def test_an_unreadable_cached_file_is_one_line_in_load_and_verify(source, data_cache,
                                                                  monkeypatch, capsys):
    """Issue #26.15: loading passed it on unread; verify showed a traceback."""
    entry = make_entry(source)
    data.fetch_file(entry)
    use_manifest(source, monkeypatch, entry)
    deny(monkeypatch, entry.cache_path)
    with pytest.raises(data.UnreadableDataError, match="cannot read.*toy.bin.*Permission"):
        data.fetch_file(entry)
    assert data.main(["verify", "toy"]) == 1
    assert "toy/toy.bin: unreadable (cannot read" in capsys.readouterr().out


def test_an_unsearchable_cache_folder_is_one_line(source, data_cache, monkeypatch, capsys):
    """Issue #26.15: status and fetch showed a PermissionError traceback."""
    entry = make_entry(source)
    use_manifest(source, monkeypatch, entry)
    data_cache.mkdir()
    deny(monkeypatch, data_cache / "toy", call="stat")
    with pytest.raises(data.UnreadableDataError, match="cannot look into.*DLCOURSE_DATA_DIR"):
        data.fetch_file(entry)
    assert data.main(["status"]) == 1
    assert "cannot look into" in one_line(capsys.readouterr().err)
    assert data.main(["fetch", "toy"]) == 1
    assert "cannot look into" in one_line(capsys.readouterr().err)


# --- settings and a partial mirror -------------------------------------------------------

def test_a_garbage_deadline_setting_is_one_line_in_the_cli(source, data_cache, monkeypatch,
                                                           capsys):
    """Issue #26.15: the CLI showed config's ValueError traceback."""
    use_manifest(source, monkeypatch, make_entry(source))
    monkeypatch.setenv("DLCOURSE_DOWNLOAD_DEADLINE", "soon")
    assert data.main(["fetch", "toy"]) == 2
    assert "DLCOURSE_DOWNLOAD_DEADLINE='soon'" in one_line(capsys.readouterr().err)


def test_fetch_copies_what_a_partial_mirror_holds_and_names_the_rest(source, data_cache,
                                                                      monkeypatch, capsys):
    """Issue #26.15: fetch stopped at the first missing file and copied nothing."""
    monkeypatch.setenv("DLCOURSE_DATA_MIRROR", str(source / "mirror"))
    missing = make_entry(source, name="a.bin", content=b"not mirrored", online=False)
    present = make_entry(source, name="b.bin", content=b"mirrored", online=False)
    (source / "mirror" / "toy" / "b.bin").write_bytes(b"mirrored")
    use_manifest(source, monkeypatch, missing, present)
    assert data.main(["fetch", "toy"]) == 1
    out, err = capsys.readouterr()
    assert "toy: INCOMPLETE (1 of 2 file(s)" in out
    assert one_line(err).startswith("toy/a.bin: FAILED: toy/a.bin is not cached")
    assert present.cache_path.read_bytes() == b"mirrored"
    assert not missing.cache_path.exists()

