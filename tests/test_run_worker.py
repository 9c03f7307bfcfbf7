"""The warm run worker: runs handed to it by the launcher execute in processes forked from it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.launcher import LaunchRunContext
from dagster._core.launcher.base import WorkerStatus
from dagster._core.test_utils import instance_for_test

from datatrendz_pipelines.run_worker import (
    PID_TAG,
    SOCKET_ENV,
    WarmWorkerRunLauncher,
    WorkerUnavailable,
    code_fingerprint,
    create_job_run,
    default_socket_path,
    hand_run,
    wait_for_run,
    wait_ready,
    worker_command,
)
from datatrendz_pipelines.settings import PROJECT_ROOT
from tests.waiting import wait_for

JOBS = "tests.run_worker_code.worker_jobs"
LAUNCHER = {"module": "datatrendz_pipelines.run_worker", "class": "WarmWorkerRunLauncher"}


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[dg.DagsterInstance]:
    (tmp_path / "dagster").mkdir()
    # Written to dagster/dagster.yaml, which the worker's runs load too.
    with instance_for_test(
        temp_dir=str(tmp_path / "dagster"), overrides={"run_launcher": LAUNCHER}
    ) as instance:
        yield instance


@pytest.fixture
def worker(instance: dg.DagsterInstance, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A worker that preloaded the test jobs, serving the test's instance, its output in
    worker.log; its socket is set for the launcher."""
    path = default_socket_path(tmp_path / "dagster")
    env = os.environ | {"DAGSTER_HOME": str(tmp_path / "dagster"), "PYTHONPATH": str(PROJECT_ROOT)}
    with (tmp_path / "worker.log").open("wb") as log:
        process = subprocess.Popen(
            [*worker_command(path), "--preload", JOBS],
            env=env,
            cwd=PROJECT_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        pid = wait_ready(path, 120, process)
        monkeypatch.setenv(SOCKET_ENV, str(path))
        yield path, pid
    finally:
        process.terminate()
        process.wait(30)
        path.unlink(missing_ok=True)


def _launch(instance: dg.DagsterInstance, job: str, op: str, out: Path) -> dg.DagsterRun:
    config = {"ops": {op: {"config": {"path": str(out)}}}}
    run = create_job_run(instance, job, run_config=config, module=JOBS)
    instance.launch_run(run.run_id, workspace=None)  # type: ignore[arg-type]
    return run


def test_a_launched_run_executes_in_a_child_of_the_worker(instance, worker, tmp_path):
    _, worker_pid = worker
    out = tmp_path / "process.json"
    run = _launch(instance, "report_job", "report_process", out)

    finished = wait_for_run(instance, run.run_id, 120)
    assert finished.status == dg.DagsterRunStatus.SUCCESS
    process = json.loads(out.read_text())
    assert process["parent"] == worker_pid
    assert finished.tags[PID_TAG] == str(process["pid"])
    started = [
        e.message for e in instance.all_logs(run.run_id) if "Started process for run" in e.message
    ]
    assert started == [f"Started process for run (pid: {process['pid']})."]


def test_terminate_and_health_follow_the_runs_process(instance, worker, tmp_path):
    launcher = instance.run_launcher
    assert isinstance(launcher, WarmWorkerRunLauncher)
    out = tmp_path / "pid"
    run = _launch(instance, "wait_job", "wait_long", out)
    wait_for(f"{out} to be written", lambda: out.exists() and out.read_text(), 60, 0.05)
    run = instance.get_run_by_id(run.run_id)
    assert launcher.check_run_worker_health(run).status == WorkerStatus.RUNNING

    assert launcher.terminate(run.run_id)
    finished = wait_for_run(instance, run.run_id, 60)
    assert finished.status == dg.DagsterRunStatus.CANCELED

    # The process is gone: a run it left unfinished would be reported failed.
    gone = finished.with_status(dg.DagsterRunStatus.STARTED)
    wait_for(
        "the health check to report the run's process gone",
        lambda: launcher.check_run_worker_health(gone).status == WorkerStatus.FAILED,
        10,
        0.1,
    )


def test_without_a_worker_the_launcher_launches_the_default_way(instance, tmp_path, monkeypatch):
    monkeypatch.setenv(SOCKET_ENV, str(tmp_path / "nobody.sock"))
    config = {"ops": {"report_process": {"config": {"path": str(tmp_path / "out")}}}}
    run = create_job_run(instance, "report_job", run_config=config, module=JOBS)
    context = LaunchRunContext(dagster_run=run, workspace=None)
    # The default launcher needs the code server's workspace, which this test has none of.
    with pytest.raises(dg.DagsterInvariantViolationError, match="requires a workspace"):
        instance.run_launcher.launch_run(context)
    reasons = [e.message for e in instance.all_logs(run.run_id) if "no run worker" in e.message]
    assert len(reasons) == 1 and "launching the run in a new process instead" in reasons[0]


def test_a_worker_refuses_runs_once_the_code_changed_and_starts_again(instance, tmp_path):
    code = tmp_path / "code"
    (code / "datatrendz_pipelines").mkdir(parents=True)
    module = code / "datatrendz_pipelines" / "x.py"
    module.write_text("")
    path = default_socket_path(tmp_path / "stale")
    script = (
        "import sys; from pathlib import Path; from datatrendz_pipelines.run_worker import serve;"
        f"serve(Path({str(path)!r}), [], Path({str(code)!r}))"
    )
    process = subprocess.Popen([sys.executable, "-c", script], cwd=PROJECT_ROOT)
    try:
        first = wait_ready(path, 60, process)
        time.sleep(0.05)
        module.write_text("changed = True\n")
        os.utime(module, (time.time() + 5, time.time() + 5))
        with pytest.raises(WorkerUnavailable, match="code changed"):
            hand_run(path, "any-run")
        assert wait_ready(path, 60, process) == first  # the same process, started again
    finally:
        process.terminate()
        process.wait(30)
        path.unlink(missing_ok=True)


def test_the_fingerprint_sees_files_added_and_edited(tmp_path):
    folder = tmp_path / "ml"
    folder.mkdir()
    before = code_fingerprint(tmp_path)
    (folder / "model.py").write_text("")
    added = code_fingerprint(tmp_path)
    assert added != before
    os.utime(folder / "model.py", (time.time() + 5, time.time() + 5))
    assert code_fingerprint(tmp_path) != added


def test_socket_paths_are_short_and_per_instance(tmp_path):
    deep = tmp_path / ("x" * 150) / "dagster"
    assert len(str(default_socket_path(deep))) < 100
    assert default_socket_path(deep) != default_socket_path(tmp_path / "dagster")


def _ended(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except FileNotFoundError:
        return True


def test_a_run_that_cannot_start_leaves_the_worker_serving(worker, tmp_path):
    path, worker_pid = worker
    pid = hand_run(path, "no-such-run")
    wait_for("the run's process to end", lambda: _ended(pid), 60, 0.05)
    assert wait_ready(path, 10) == worker_pid
    log = (tmp_path / "worker.log").read_text()
    assert "run no-such-run could not be executed" in log and "not found" in log
