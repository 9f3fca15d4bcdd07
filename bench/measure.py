"""Running one workload in a fresh Python process and reading back what it reported."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from time import perf_counter

from bench.workloads import MARKER

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Measurement:
    """What one process reported: its timings, results and peak memory, or why it failed."""

    workload: str
    values: dict = field(default_factory=dict)
    process_seconds: float = 0.0  # seen by the parent: interpreter start-up included
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error

    @property
    def rss_mb(self) -> float | None:
        kilobytes = self.values.get("max_rss_kb")
        return kilobytes / 1024 if kilobytes else None


def measure(workload: str, *, env: dict[str, str | None], timeout: float,
            **arguments) -> Measurement:
    """Run ``bench.workloads`` ``workload`` in a fresh interpreter, from the repository's root.

    ``env`` changes the inherited environment (``None`` removes a variable);
    everything else, BLAS settings included, is passed on as it is.
    """
    command = [sys.executable, "-m", "bench.workloads", workload, json.dumps(arguments)]
    start = perf_counter()
    # Its own process group, so a timeout ends the workload's workers and fork server too.
    with subprocess.Popen(command, cwd=ROOT, env=_environment(env), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, start_new_session=True) as process:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            return Measurement(workload, process_seconds=perf_counter() - start,
                               error=f"timed out after {timeout:.0f} s")
    done = subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
    seconds = perf_counter() - start
    values = _reported(done.stdout)
    if done.returncode != 0 or values is None:
        return Measurement(workload, process_seconds=seconds, error=_failure(done))
    problem = values.get("problem") or ""
    if problem:  # the page's own message is redacted; the traceback went to stderr
        problem = f"{problem} ({_last_exception(done.stderr)})"
    return Measurement(workload, values, seconds, error=problem)


def _environment(changes: dict[str, str | None]) -> dict[str, str]:
    env = dict(os.environ)
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def _reported(stdout: str) -> dict | None:
    """The workload's result line (the last one carrying the marker), or None."""
    for line in reversed(stdout.splitlines()):
        if line.startswith(MARKER + " "):
            return json.loads(line[len(MARKER) + 1:])
    return None


def _last_exception(stderr: str) -> str:
    """The last line of a traceback on ``stderr`` ("SomeError: message")."""
    found = [line.strip() for line in stderr.splitlines()
             if re.match(r"^[\w.]+(Error|Exception|Warning)\b", line.strip())]
    return found[-1][:300] if found else "no traceback on stderr"


def _failure(done: subprocess.CompletedProcess) -> str:
    """A one-line reason: the exit code and the last line the process wrote on stderr."""
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    last = lines[-1].strip() if lines else "no output"
    return f"exit code {done.returncode}: {last[:300]}"
