"""The network is a guest: every download in the course goes through :func:`fetch`.

The rules, in one place:

* ``VAELIB_OFFLINE=1`` skips the network entirely (``make test`` and CI set it);
* a download has a short time limit to make contact (:data:`CONNECT_SECONDS`) and a total time
  limit (:data:`TOTAL_SECONDS`), enforced from the calling thread, so a network that neither
  answers nor refuses (a silent firewall, a hanging name lookup) costs seconds, not minutes;
* a failed attempt is remembered for the rest of the process: later calls do not try again.

Every caller has a complete offline path (the data shipped with vaelib) for when this fails.
Used by :mod:`vaelib.data` (MNIST, chapters 4 to 7).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

CONNECT_SECONDS = 5.0  # to get a first answer from a server, all mirrors together
TOTAL_SECONDS = 120.0  # for a whole download, once a server has answered
_CHUNK = 1 << 16

_failed: set[str] = set()  # what failed in this process: "network" or a URL


class DownloadError(RuntimeError):
    """A download was skipped, refused, too slow, or did not match its checksum."""


def offline() -> bool:
    """True when ``VAELIB_OFFLINE`` is set to a true value: never touch the network."""
    value = os.environ.get("VAELIB_OFFLINE", "").strip().lower()
    return value not in ("", "0", "false", "no", "off")


def network_failed() -> bool:
    """True once a download in this process has failed to reach any server."""
    return "network" in _failed


def reset() -> None:
    """Forget earlier failures (for tests, or after the network came back)."""
    _failed.clear()


def fetch(
    urls: list[str],
    dest: str | Path,
    md5: str | None = None,
    connect_seconds: float = CONNECT_SECONDS,
    total_seconds: float = TOTAL_SECONDS,
) -> Path:
    """Download the first of ``urls`` that answers into ``dest``, within the time limits.

    Parameters
    ----------
    urls : list of str
        Mirrors of one file, tried in order.
    dest : path
        Where the file goes; it appears only when complete and verified.
    md5 : str, optional
        The file's published MD5; a mismatch is an error and nothing is written.
    connect_seconds, total_seconds : float
        Time to a first answer (all mirrors together) and for the whole download.

    Returns
    -------
    Path
        ``dest``.

    Raises
    ------
    DownloadError
        Offline (``VAELIB_OFFLINE=1``), after an earlier failure in this process, when no mirror
        answers within ``connect_seconds``, when the download exceeds ``total_seconds``, or on a
        checksum mismatch. The caller falls back to its offline data.
    """
    if offline():
        raise DownloadError("VAELIB_OFFLINE is set: the network is not used")
    if network_failed():
        raise DownloadError("an earlier download in this process found no network")
    dest = Path(dest)
    result: dict = {}
    answered = threading.Event()
    worker = threading.Thread(
        target=_download, args=(urls, dest, md5, connect_seconds, answered, result), daemon=True
    )
    start = time.monotonic()
    worker.start()
    # The wait is bounded here, in the caller's thread, whatever the socket layer does (a name
    # lookup ignores socket timeouts). An abandoned daemon thread writes only to a temp file.
    worker.join(connect_seconds)
    if worker.is_alive() and not answered.is_set():
        _failed.add("network")
        raise DownloadError(f"no server answered within {connect_seconds:g} s: {urls[0]}")
    worker.join(max(0.0, total_seconds - (time.monotonic() - start)))
    if worker.is_alive():
        _failed.add("network")
        raise DownloadError(f"the download took longer than {total_seconds:g} s: {urls[0]}")
    if "error" in result:
        if not answered.is_set():
            _failed.add("network")
        raise DownloadError(result["error"])
    return dest


def _download(urls, dest, md5, timeout, answered, result) -> None:
    errors = []
    for url in urls:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                answered.set()
                _save(response, dest, md5, url)
            return
        except Exception as error:  # any failure: try the next mirror
            if isinstance(error, urllib.error.HTTPError):
                answered.set()  # the server answered, with an error: the network works
            errors.append(f"{url}: {error}")
    result["error"] = "every mirror failed: " + "; ".join(errors)


def _save(response, dest: Path, md5: str | None, url: str) -> None:
    digest = hashlib.md5()
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=dest.parent, delete=False, suffix=".part") as tmp:
        while chunk := response.read(_CHUNK):
            digest.update(chunk)
            tmp.write(chunk)
    if md5 is not None and digest.hexdigest() != md5:
        os.unlink(tmp.name)
        raise DownloadError(f"{url} does not match its MD5 (got {digest.hexdigest()})")
    shutil.move(tmp.name, dest)
