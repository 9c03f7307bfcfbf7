"""Run a command and measure its wall time and the peak resident memory of its process tree.

psutil is not installed: the tree is read from /proc (Linux) every `interval` seconds, summing
the RSS of the process and all its descendants (dbt runs as a child of the Dagster run). Where
/proc is missing, the peak of the largest single process from `getrusage(RUSAGE_CHILDREN)` is
used instead.
"""

from __future__ import annotations

import os
import resource
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


@dataclass(frozen=True)
class Measured:
    returncode: int
    seconds: float
    peak_rss_bytes: int


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        tree.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    return tree


def tree_rss(pid: int) -> int:
    """Bytes resident in `pid` and every descendant of it, now."""
    tree = _children()
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            pages = int(Path(f"/proc/{current}/statm").read_text().split()[1])
        except (OSError, IndexError, ValueError):
            continue
        total += pages * PAGE
        todo.extend(tree.get(current, []))
    return total


def run_measured(
    command: list[str], env: dict[str, str], log: Path, cwd: Path, interval: float = 0.2
) -> Measured:
    """Run `command` with its output in `log`; return its exit code, seconds and peak tree RSS."""
    peak = 0
    done = threading.Event()
    with log.open("ab") as out:
        started = time.perf_counter()
        process = subprocess.Popen(command, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, tree_rss(process.pid))
                done.wait(interval)

        sampler = threading.Thread(target=sample, daemon=True)
        if Path("/proc/self/statm").exists():
            sampler.start()
        try:
            returncode = process.wait()
        except BaseException:  # interrupted: do not leave the measured run behind
            process.terminate()
            process.wait()
            raise
        finally:
            seconds = time.perf_counter() - started
            done.set()
            if sampler.is_alive():
                sampler.join()
    if not peak:
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    return Measured(returncode, seconds, peak)
