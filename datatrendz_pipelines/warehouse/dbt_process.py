"""The dbt command the pipeline runs: dbt's own CLI, in a process set up as a batch process and,
when the run started one, in a process that imported dbt while the run's raw steps ran.

dbt's start-up builds a large heap (its modules, the manifest, macros and adapters), which
Python's default thresholds collect again and again while it grows, and dbt's exit collects and
frees it all once more after the last result is printed. Here the collector runs less often and
the process ends without that teardown (see `batch_process`); what dbt does, prints and returns
is unchanged. A daily build at 10M order lines: 14.8 -> 13.4 s (two alternating runs each).

Importing dbt takes 2 s more before dbt reads a file, and the raw steps before the dbt step keep
one core of two busy and the other idle. So the first raw step of a run that builds the models
starts a warm process (`start_warm_dbt`): it imports dbt on the idle core and waits on a Unix
socket. The dbt step's `datatrendz-dbt` then hands it its arguments, environment, working folder
and standard streams, forwards the signals it gets (Dagster stops dbt with SIGINT), and exits
with dbt's status. Each warm process serves one command; without one (or if it is gone), the
command runs dbt itself.

Importing is not all of dbt's start-up: the first command in a process also builds the JSON
schemas dbt validates the project and profile with, imports what dbt loads lazily and compiles
its templates. So a warm process also parses the project once while it waits (`WarmUp`), from a
copy of the home's parse state, in a scratch folder. The command it then serves loads the
project and its state as it would in a new process, and finds those caches warm: a day's build
at 10M order lines handed to a warm process, 12.2 -> 10.5 s (medians of five alternating runs).
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import NoReturn

from datatrendz_pipelines.batch_process import (
    exit_code,
    exit_without_teardown,
    finish_without_teardown,
    tune_gc_for_batch,
)

# Where the run's warm dbt process listens; set in the run's environment, which dbt steps inherit.
WARM_SOCKET_ENV = "DATATRENDZ_DBT_WARM_SOCKET"
# What a build imports beyond dbt's CLI: its task, the manifest loader, both adapters.
WARM_IMPORTS = (
    "dbt.cli.main",
    "dbt.task.build",
    "dbt.parser.manifest",
    "dbt.adapters.duckdb",
    "dbt.adapters.postgres",
)
# A warm process nobody asked for goes away: after this, or when the run's process is gone.
WARM_IDLE_SECONDS = 30 * 60
MESSAGE_BYTES = 1 << 20


@dataclass(frozen=True)
class WarmUp:
    """What a warm process parses while it waits: `dbt parse` with `args` (the project, profiles
    and target of the coming command), starting from a copy of the parse state at `state`. With
    no state there, it parses nothing: a whole parse could outlast the steps before dbt's."""

    args: Sequence[str]
    state: str


def main() -> NoReturn:
    """`datatrendz-dbt ARGS`: dbt ARGS, in the run's warm process if it has one, else here."""
    handed = hand_to_warm_process(sys.argv[1:])
    if handed is not None:
        os._exit(handed)
    exit_without_teardown(run_dbt())


def run_dbt() -> int:
    tune_gc_for_batch()
    from dbt.cli.main import cli

    try:
        cli(prog_name="dbt")
        return 0
    except SystemExit as exit:
        return exit_code(exit)


def start_warm_dbt(warm_up: WarmUp | None = None) -> bool:
    """Start this process's warm dbt process, unless one is waiting already; True if started.

    The socket is bound here before the process starts, so a command that comes early waits for
    the imports (and the warm-up) to finish instead of finding no one."""
    waiting = os.environ.get(WARM_SOCKET_ENV)
    if waiting and Path(waiting).exists():
        return False
    path = Path(tempfile.mkdtemp(prefix="datatrendz-dbt-")) / "socket"
    with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as listener:
        listener.bind(str(path))
        listener.listen(1)
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                __name__,
                "--serve",
                str(listener.fileno()),
                str(os.getpid()),
                json.dumps(asdict(warm_up) if warm_up else None),
            ],
            pass_fds=[listener.fileno()],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # a Ctrl-C in the terminal reaches it through the command
        )
    os.environ[WARM_SOCKET_ENV] = str(path)
    return True


def hand_to_warm_process(args: list[str]) -> int | None:
    """Run dbt ARGS in the warm process: its exit status, or None when there is none to take it."""
    path = os.environ.get(WARM_SOCKET_ENV)
    if not path:
        return None
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        conn.connect(path)
    except OSError:  # used by an earlier command, or gone
        conn.close()
        return None
    with conn:
        request = {"args": args, "env": dict(os.environ), "cwd": os.getcwd()}
        socket.send_fds(conn, [json.dumps(request).encode()], [0, 1, 2])
        answer = conn.recv(MESSAGE_BYTES)
        if not answer:  # ended before it took the command: run it here
            return None
        pid = json.loads(answer)["pid"]
        for number in (signal.SIGINT, signal.SIGTERM):
            signal.signal(number, lambda signum, _frame: os.kill(pid, signum))
        answer = conn.recv(MESSAGE_BYTES)
    if not answer:
        print(f"the warm dbt process {pid} ended without a result", file=sys.stderr)
        return 1
    return int(json.loads(answer)["exit"])


def serve(listener: socket.socket, parent: int, warm_up: WarmUp | None = None) -> NoReturn:
    """The warm process: import dbt (and warm it up), then run the one command that comes, as if
    started for it."""
    tune_gc_for_batch()
    import importlib

    for module in WARM_IMPORTS:
        importlib.import_module(module)
    if warm_up is not None:
        run_warm_up(warm_up)
    path = listener.getsockname()
    deadline = time.monotonic() + WARM_IDLE_SECONDS
    while not select.select([listener], [], [], 1.0)[0]:
        if os.getppid() != parent or time.monotonic() > deadline:
            _remove(path)
            os._exit(0)
    conn, _ = listener.accept()
    _remove(path)  # one command per process: the next starts its own
    listener.close()
    data, fds, _, _ = socket.recv_fds(conn, MESSAGE_BYTES, 3)
    request = json.loads(data)
    conn.send(json.dumps({"pid": os.getpid()}).encode())
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    sys.argv = ["dbt", *request["args"]]
    code = run_dbt()
    # dbt's exit handlers close the warehouse before the command may report and the next step
    # open it.
    finish_without_teardown()
    conn.send(json.dumps({"exit": code}).encode())
    os._exit(code)


def run_warm_up(warm_up: WarmUp) -> bool:
    """Parse the project once in a scratch folder (see WarmUp); True if dbt parsed it. A failure
    is left to the command itself to meet and report."""
    state = Path(warm_up.state)
    if not state.is_file():
        return False
    from dbt.cli.main import dbtRunner

    scratch = Path(tempfile.mkdtemp(prefix="datatrendz-dbt-warm-up-"))
    try:
        shutil.copyfile(state, scratch / state.name)
        where = ["--target-path", str(scratch), "--log-path", str(scratch)]
        result = dbtRunner().invoke(["parse", *warm_up.args, *where, "--quiet"])
        return result.success
    except Exception:  # whatever broke, the command will meet it and say so
        return False
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _remove(path: str) -> None:
    socket_path = Path(path)
    socket_path.unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # its folder, unless something else was put there
        socket_path.parent.rmdir()


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve"]:
        warm_up = json.loads(sys.argv[4])
        serve(
            socket.socket(fileno=int(sys.argv[2])),
            int(sys.argv[3]),
            WarmUp(**warm_up) if warm_up else None,
        )
