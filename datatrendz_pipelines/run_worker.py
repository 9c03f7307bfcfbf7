"""A warm run worker: Dagster runs executed in processes forked from one that has already
imported the pipeline.

A run in a new process imports Dagster and the definitions (dagster-dbt pulls in dbt's adapters),
Great Expectations, MLflow, scikit-learn and skops before or while its steps work: about 10 s
of CPU on a two-core machine, as long as the day's own work. The worker (`serve`) imports all of
that once, starts no thread, opens no connection, and waits on a Unix socket. For each run
`WarmWorkerRunLauncher` hands it, it forks a child that executes the run as `dagster api
execute_run` would, in a process of its own: a run's failure, memory or signals stay in its
child, and the worker's modules are shared copy-on-write.

A worker serves the code it imported. Before each fork it compares the project's files with
what it started from; when one has changed it refuses the run (the launcher then launches it
the default way, through the code server) and starts itself again on the new code.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import signal
import socket
import sys
import tempfile
import time
import traceback
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import dagster as dg
from dagster._core.launcher import DefaultRunLauncher, LaunchRunContext
from dagster._core.launcher.base import CheckRunHealthResult, WorkerStatus
from dagster._core.storage.dagster_run import DagsterRun

from datatrendz_pipelines.settings import PROJECT_ROOT

# Where the worker listens; the launcher hands runs to it when this is set and it answers.
SOCKET_ENV = "DATATRENDZ_RUN_WORKER_SOCKET"
# The run's tags: the forked process that executes it, and the worker it came from.
PID_TAG = "datatrendz/run_worker_pid"
WORKER_TAG = "datatrendz/run_worker"
# The project's own files whose change makes a worker's imports stale.
CODE_FOLDERS = ("datatrendz_pipelines", "ml", "dbt_project/models", "dbt_project/macros")
CODE_FILES = ("dbt_project/dbt_project.yml", "pyproject.toml", "uv.lock")
CODE_SUFFIXES = (".py", ".sql", ".yml", ".yaml")
CONNECT_SECONDS = 5.0
MESSAGE_BYTES = 1 << 16


class WorkerUnavailable(Exception):
    """No worker answered at the socket, or it refused the run; the reason is the message."""


def worker_command(path: Path) -> list[str]:
    """The command that starts a worker listening at `path`."""
    return [sys.executable, "-m", "datatrendz_pipelines.run_worker", "--socket", str(path)]


def default_socket_path(dagster_home: str | os.PathLike[str]) -> Path:
    """A short socket path for an instance: Unix socket paths are limited to ~100 bytes, which a
    DAGSTER_HOME deep in a tree would pass."""
    digest = hashlib.sha256(str(Path(dagster_home).resolve()).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"datatrendz-run-worker-{digest}.sock"


def code_fingerprint(root: Path = PROJECT_ROOT) -> tuple[int, float]:
    """How many of the project's code files there are, and the newest one's modification time:
    a file added, removed or edited changes it."""
    paths: list[Path] = [root / name for name in CODE_FILES]
    for folder in CODE_FOLDERS:
        paths.extend(p for p in (root / folder).rglob("*") if p.suffix in CODE_SUFFIXES)
    times = [p.stat().st_mtime for p in paths if p.is_file()]
    return len(times), max(times, default=0.0)


# ---------------------------------------------------------------------------------------------
# The worker


@dataclass
class Worker:
    """The forking parent: its listener and the code it imported."""

    listener: socket.socket
    fingerprint: tuple[int, float]
    code_root: Path

    def serve_forever(self) -> NoReturn:
        while True:
            self.reap()
            try:
                connection, _ = self.listener.accept()
            except TimeoutError:
                continue
            with connection:
                self.answer(connection)

    def answer(self, connection: socket.socket) -> None:
        connection.settimeout(CONNECT_SECONDS)
        try:
            request = json.loads(_read_line(connection))
        except (OSError, ValueError) as error:
            _send(connection, {"error": f"unreadable request: {error}"})
            return
        if "run_id" not in request:
            _send(connection, {"ready": True, "pid": os.getpid()})
            return
        if code_fingerprint(self.code_root) != self.fingerprint:
            _send(connection, {"error": "the project's code changed since the worker started"})
            self.restart()
        pid = os.fork()
        if pid == 0:
            self.listener.close()
            connection.close()
            _execute_run(str(request["run_id"]))
        _send(connection, {"pid": pid})

    @staticmethod
    def reap() -> None:
        """Collect the runs that ended (those of an earlier start of this program too)."""
        with contextlib.suppress(ChildProcessError):
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass

    def restart(self) -> NoReturn:
        """Start this program again on the new code, in this process (its runs keep going)."""
        print("run worker: the project's code changed; starting again", flush=True)
        self.listener.close()
        os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])


def _execute_run(run_id: str) -> NoReturn:
    """In a forked child: execute the run as `dagster api execute_run` does, then exit. Its
    signal handling is the worker's (`serve` sets it before forking)."""
    from dagster._cli.api import _execute_run_command_body

    from datatrendz_pipelines.batch_process import exit_without_teardown

    code = 1
    try:
        with dg.DagsterInstance.get() as instance:
            code = _execute_run_command_body(
                run_id, instance, write_stream_fn=lambda _event: None, set_exit_code_on_failure=True
            )
    except BaseException:
        # Before the run could start (no instance, no such run): only the worker's log can say.
        print(f"run worker: run {run_id} could not be executed", file=sys.stderr)
        traceback.print_exc()
    finally:
        exit_without_teardown(code)


def pipeline_modules() -> list[str]:
    """What the worker imports before it listens: what a daily run imports on its way."""
    from datatrendz_pipelines.forecasting.assets import FORECASTING_IMPORTS

    return ["datatrendz_pipelines.definitions", "great_expectations", *FORECASTING_IMPORTS]


def preload(modules: Iterable[str]) -> None:
    """Import `modules` in this (the main) thread. A module that fails to import fails the
    worker: a run would meet the same error."""
    import importlib

    for name in modules:
        importlib.import_module(name)


def serve(path: Path, modules: Sequence[str], code_root: Path = PROJECT_ROOT) -> NoReturn:
    """Import `modules`, then listen at `path` and fork a child per run handed in."""
    import threading

    # A worker inherits its starter's ignored or blocked signals (a background job ignores
    # SIGINT; some libraries block signals in the thread that starts processes): it must stop
    # when told, and so must its runs' processes, which inherit from it.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    fingerprint = code_fingerprint(code_root)
    started = time.perf_counter()
    preload(modules)
    if threading.active_count() != 1:
        # A forked child inherits no threads, only their locks: one held mid-fork stays held.
        raise SystemExit(
            f"run worker: importing {', '.join(modules)} started threads "
            f"({', '.join(t.name for t in threading.enumerate())}); a forked run could deadlock"
        )
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(16)
    listener.settimeout(1.0)  # wake up to reap finished runs
    print(
        f"run worker: ready at {path} (pid {os.getpid()}, imports "
        f"{time.perf_counter() - started:.1f}s)",
        flush=True,
    )
    Worker(listener, fingerprint, code_root).serve_forever()


# ---------------------------------------------------------------------------------------------
# The client and the launcher


def _read_line(connection: socket.socket) -> str:
    data = b""
    while not data.endswith(b"\n") and len(data) < MESSAGE_BYTES:
        chunk = connection.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.decode()


def _send(connection: socket.socket, message: Mapping[str, Any]) -> None:
    with contextlib.suppress(OSError):  # the client gave up waiting
        connection.sendall(json.dumps(message).encode() + b"\n")


def ask(path: Path, request: Mapping[str, Any], timeout: float = CONNECT_SECONDS) -> dict:
    """Send `request` to the worker at `path`; its answer. WorkerUnavailable when none answers
    or it answers with an error."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.settimeout(timeout)
            connection.connect(str(path))
            _send(connection, request)
            answer = json.loads(_read_line(connection) or "null")
    except (OSError, ValueError) as error:
        raise WorkerUnavailable(f"no run worker at {path}: {error}") from error
    if not isinstance(answer, dict):
        raise WorkerUnavailable(f"the run worker at {path} closed the connection")
    if "error" in answer:
        raise WorkerUnavailable(f"the run worker at {path} refused: {answer['error']}")
    return answer


def wait_ready(path: Path, timeout: float, process: Any = None) -> int:
    """Wait until a worker answers at `path` (its imports take seconds); its pid. RuntimeError
    if `process` (a Popen) exits first, TimeoutError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the run worker exited with code {process.returncode}")
        with contextlib.suppress(WorkerUnavailable):
            return int(ask(path, {"ping": True})["pid"])
        if time.monotonic() > deadline:
            raise TimeoutError(f"no run worker answered at {path} within {timeout:.0f}s")
        time.sleep(0.2)


def hand_run(path: Path, run_id: str) -> int:
    """Have the worker at `path` execute the run; the pid of the process that executes it."""
    return int(ask(path, {"run_id": run_id})["pid"])


def create_job_run(
    instance: dg.DagsterInstance,
    job_name: str,
    tags: Mapping[str, str] | None = None,
    run_config: Mapping[str, Any] | None = None,
    module: str = "datatrendz_pipelines.definitions",
    attribute: str = "defs",
) -> DagsterRun:
    """A new run of `job_name` from the Definitions `module.attribute`, with the code origin a
    run process loads it from (what the webserver or a schedule creates before launching)."""
    from dagster._core.definitions.reconstruct import ReconstructableRepository

    repository = ReconstructableRepository.for_module(module, attribute, str(PROJECT_ROOT))
    job = repository.get_reconstructable_job(job_name)
    return instance.create_run_for_job(
        job_def=job.get_definition(),
        run_config=run_config,
        tags=tags,
        job_code_origin=job.get_python_origin(),
    )


def wait_for_run(instance: dg.DagsterInstance, run_id: str, timeout: float) -> DagsterRun:
    """Poll the run until it has finished; TimeoutError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        run = instance.get_run_by_id(run_id)
        if run is not None and run.is_finished:
            return run
        if time.monotonic() > deadline:
            raise TimeoutError(f"run {run_id} did not finish within {timeout:.0f}s")
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # no signal: only whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        pass
    return True


class WarmWorkerRunLauncher(DefaultRunLauncher):
    """Launches a run in the warm run worker at $DATATRENDZ_RUN_WORKER_SOCKET when one answers
    there, else as the default launcher does (a new process from the code server)."""

    def launch_run(self, context: LaunchRunContext) -> None:
        run = context.dagster_run
        path = os.environ.get(SOCKET_ENV)
        if path and run.job_code_origin is not None:
            try:
                pid = hand_run(Path(path), run.run_id)
            except WorkerUnavailable as reason:
                self._instance.report_engine_event(
                    f"{reason}; launching the run in a new process instead.",
                    run,
                    cls=self.__class__,
                )
            else:
                self._instance.add_run_tags(run.run_id, {PID_TAG: str(pid), WORKER_TAG: path})
                return
        super().launch_run(context)

    def terminate(self, run_id: str) -> bool:
        run = self._instance.get_run_by_id(run_id)
        pid = _worker_pid(run)
        if run is None or pid is None:
            return super().terminate(run_id)
        if run.is_finished or not _alive(pid):
            return False
        self._instance.report_run_canceling(run)
        # Dagster takes SIGINT in a run's process as "stop": the steps are interrupted and the
        # run is marked canceled.
        os.kill(pid, signal.SIGINT)
        return True

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: DagsterRun) -> CheckRunHealthResult:
        pid = _worker_pid(run)
        if pid is None:
            # Launched by the code server, which does not say: not this launcher's to judge.
            return CheckRunHealthResult(WorkerStatus.RUNNING, "launched by the code server")
        if _alive(pid):
            return CheckRunHealthResult(WorkerStatus.RUNNING)
        return CheckRunHealthResult(
            WorkerStatus.FAILED, f"the run's process (pid {pid}) is gone without finishing it"
        )


def _worker_pid(run: DagsterRun | None) -> int | None:
    value = run.tags.get(PID_TAG) if run is not None else None
    return int(value) if value else None


def main(argv: Sequence[str] | None = None) -> NoReturn:
    parser = argparse.ArgumentParser(
        prog="python -m datatrendz_pipelines.run_worker",
        description="Serve Dagster runs from processes forked from one that imported the pipeline.",
    )
    parser.add_argument("--socket", type=Path, default=None, help=f"default: ${SOCKET_ENV}")
    parser.add_argument(
        "--preload",
        nargs="*",
        default=None,
        help="modules to import first (default: the pipeline's)",
    )
    args = parser.parse_args(argv)
    path = args.socket or (Path(os.environ[SOCKET_ENV]) if os.environ.get(SOCKET_ENV) else None)
    if path is None:
        raise SystemExit(f"run worker: give --socket or set {SOCKET_ENV}")
    serve(path, pipeline_modules() if args.preload is None else args.preload)


if __name__ == "__main__":
    main()
