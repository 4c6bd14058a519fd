"""vaelib.network and load_mnist's use of it: a download never waits without a limit."""

import socket
import threading
import time

import pytest

from vaelib import data, network


@pytest.fixture(autouse=True)
def fresh(monkeypatch):
    monkeypatch.delenv("VAELIB_OFFLINE", raising=False)
    network.reset()
    yield
    network.reset()


@pytest.fixture
def silent_server():
    """A local address that accepts connections and then never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    stop = threading.Event()
    held = []

    def accept():
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])  # keep it open, say nothing
            except OSError:
                pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def test_silent_server_costs_the_connect_limit_and_is_remembered(silent_server, tmp_path):
    start = time.monotonic()
    with pytest.raises(network.DownloadError, match="no server answered within 0.5 s"):
        network.fetch([silent_server + "a.gz"], tmp_path / "a.gz", connect_seconds=0.5)
    assert 0.4 < time.monotonic() - start < 2.0
    assert network.network_failed()
    start = time.monotonic()
    with pytest.raises(network.DownloadError, match="earlier download"):
        network.fetch([silent_server + "b.gz"], tmp_path / "b.gz", connect_seconds=0.5)
    assert time.monotonic() - start < 0.1  # not tried again
    assert not (tmp_path / "a.gz").exists()


def test_offline_switch_skips_the_network(monkeypatch, tmp_path):
    monkeypatch.setenv("VAELIB_OFFLINE", "1")
    with pytest.raises(network.DownloadError, match="VAELIB_OFFLINE"):
        network.fetch(["http://127.0.0.1:9/x"], tmp_path / "x")
    assert not network.network_failed()  # skipping is not a failure


def test_refused_connection_fails_at_once(tmp_path):
    port = socket.socket()
    port.bind(("127.0.0.1", 0))
    address = f"http://127.0.0.1:{port.getsockname()[1]}/x"  # bound, not listening: refused
    start = time.monotonic()
    with pytest.raises(network.DownloadError, match="every mirror failed"):
        network.fetch([address], tmp_path / "x", connect_seconds=5)
    port.close()
    assert time.monotonic() - start < 2.0


def test_checksum_mismatch_writes_nothing(tmp_path):
    source = tmp_path / "source.bin"
    source.write_bytes(b"not mnist")
    with pytest.raises(network.DownloadError, match="MD5"):
        network.fetch([source.as_uri()], tmp_path / "out.bin", md5="0" * 32)
    assert not (tmp_path / "out.bin").exists()
    network.fetch([source.as_uri()], tmp_path / "ok.bin", md5="19dc5a72fa1f08e2123d7984e7ff67de")
    assert (tmp_path / "ok.bin").read_bytes() == b"not mnist"


def test_load_mnist_falls_back_within_the_limit(silent_server, monkeypatch, tmp_path):
    """Where the network neither answers nor refuses, load_mnist returns the shipped data."""
    from torchvision.datasets import MNIST

    monkeypatch.setattr(MNIST, "mirrors", [silent_server])
    monkeypatch.setattr(network, "CONNECT_SECONDS", 1.0)
    monkeypatch.setattr(network.fetch, "__defaults__", (None, 1.0, network.TOTAL_SECONDS))
    calls = []
    real_urlopen = network.urllib.request.urlopen
    monkeypatch.setattr(
        network.urllib.request, "urlopen", lambda *a, **k: calls.append(a) or real_urlopen(*a, **k)
    )
    start = time.monotonic()
    mnist = data.load_mnist(root=tmp_path, n_train=10, n_test=10)
    assert mnist.offline and "ships with vaelib" in mnist.description
    assert time.monotonic() - start < 5.0  # 1 s of waiting, the rest is reading the fallback
    assert len(calls) == 1
    assert data.load_mnist(root=tmp_path, n_train=10, n_test=10).offline
    assert len(calls) == 1  # the failure is remembered: the network is not tried again


def test_load_mnist_uses_files_on_disk_without_the_network(monkeypatch, tmp_path):
    """torchvision's layout on disk is read with VAELIB_OFFLINE=1 (no download needed)."""
    import gzip

    monkeypatch.setenv("VAELIB_OFFLINE", "1")
    x, y = data.read_fallback()
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for split in ("train", "t10k"):
        images = gzip.decompress((data.FALLBACK_DIR / "t10k-images-idx3-ubyte.gz").read_bytes())
        labels = gzip.decompress((data.FALLBACK_DIR / "t10k-labels-idx1-ubyte.gz").read_bytes())
        (raw / f"{split}-images-idx3-ubyte").write_bytes(images)
        (raw / f"{split}-labels-idx1-ubyte").write_bytes(labels)
    mnist = data.load_mnist(root=tmp_path)
    assert not mnist.offline and len(mnist.x_train) == len(x) == 10000
    assert "torchvision" in mnist.description
