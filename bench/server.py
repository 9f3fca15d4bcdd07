"""The real server, ``streamlit run app.py``, started for a benchmark row or a browser test.

A server runs in its own process group, on a free localhost port, with its own
cache folder and an empty scikit-learn data folder; its stderr (where every
real training is logged) goes to a file.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")  # Debian's: Playwright's own download does not work
# As root, without the sandbox; without the background networking, Chromium's calls home are
# refused by a closed network, many at a time.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
HEALTH_TIMEOUT_S = 60
STOP_TIMEOUT_S = 10


class ServerFailed(RuntimeError):
    """The server exited, or did not answer its health check in time."""


@dataclass
class Server:
    """A running ``streamlit run app.py``."""

    url: str
    process: subprocess.Popen
    stderr_path: Path
    cache: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")


def server_environment(tmp: Path, *, sample: bool, cache: Path | None = None,
                       extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a server that never finds OpenML data on disk.

    With ``sample`` it is told to use the bundled offline sample; without, it
    takes the real path (probe OpenML, fall back to the sample when offline).
    Its cache folder is ``cache``, by default a new one in ``tmp``. ``extra`` adds
    to it (``SCIKIT_LEARN_DATA`` included, for a server on a real OpenML cache).
    """
    env = dict(os.environ)
    env["MLP_LENS_CACHE"] = str(cache or tmp / "cache")
    env["SCIKIT_LEARN_DATA"] = str(tmp / "scikit-learn-data")
    env.pop("MLP_LENS_DATA", None)
    if sample:
        env["MLP_LENS_DATA"] = "sample"
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


@contextmanager
def serve(tmp: Path, *, sample: bool = True, cache: Path | None = None,
          env: dict[str, str] | None = None, script: str = "app.py") -> Iterator[Server]:
    """Start the app on a free port, wait until it is healthy, and stop it afterwards.

    ``env`` adds to the server's environment (``MLP_LENS_MAX_TRAININGS``...); ``script``
    runs another Streamlit script of the project instead (a minimal app, say). Raises
    ``ServerFailed``, with the end of the server's stderr, if it does not come up.
    """
    (tmp / "scikit-learn-data").mkdir(parents=True, exist_ok=True)
    port = _free_port()
    stderr_path = tmp / "server-stderr.log"
    with open(stderr_path, "wb") as stderr, open(tmp / "server-stdout.log", "wb") as stdout:
        process = subprocess.Popen(
            # The app as `make run` starts it (python -m ui); another script as it is.
            [sys.executable, "-m", *(("ui",) if script == "app.py" else
                                     ("streamlit", "run", script)),
             "--server.port", str(port), "--server.headless", "true",
             # Run the code as it was at the start: an edit to the working tree during
             # the run must not hot-reload modules (and reset in-process state) midway.
             "--server.fileWatcherType", "none"],
            cwd=ROOT, env=server_environment(tmp, sample=sample, cache=cache, extra=env),
            stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group, so children stop with it
        )
    server = Server(url=f"http://localhost:{port}", process=process, stderr_path=stderr_path,
                    cache=cache or tmp / "cache")
    try:
        _wait_until_healthy(server)
        yield server
    finally:
        _stop(process)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("localhost", 0))
        return sock.getsockname()[1]


def _wait_until_healthy(server: Server) -> None:
    deadline = time.monotonic() + HEALTH_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise ServerFailed(f"the server exited with code {server.process.returncode}:\n"
                               f"{server.stderr()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{server.url}/_stcore/health", timeout=2) as reply:
                if reply.read().decode().strip() == "ok":
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass  # not listening yet
        time.sleep(0.2)
    raise ServerFailed(f"the server did not answer 'ok' within {HEALTH_TIMEOUT_S} s:\n"
                       f"{server.stderr()[-3000:]}")


def _stop(process: subprocess.Popen) -> None:
    """Terminate the server's process group by its id; kill it if it does not exit in time."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=STOP_TIMEOUT_S)
    except ProcessLookupError:
        process.wait(timeout=STOP_TIMEOUT_S)
