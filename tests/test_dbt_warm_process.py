"""The warm dbt process: started by the steps before the dbt step, it runs that step's command."""

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from datatrendz_pipelines.settings import DBT_PROJECT_DIR
from datatrendz_pipelines.warehouse.dbt_process import (
    WARM_SOCKET_ENV,
    WarmUp,
    run_warm_up,
    start_warm_dbt,
)
from datatrendz_pipelines.warehouse.project import DBT_EXECUTABLE, dbt_project, warm_up_for
from tests.waiting import wait_for


@pytest.fixture
def no_warm_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(WARM_SOCKET_ENV, "")  # and back to the test process's value afterwards


def _dbt(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [DBT_EXECUTABLE, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def test_the_next_dbt_command_runs_in_the_warm_process_once(no_warm_process):
    assert start_warm_dbt()
    socket_path = Path(os.environ[WARM_SOCKET_ENV])
    assert socket_path.exists()
    assert not start_warm_dbt()  # one is waiting already

    # Early: the command waits for the warm process to finish importing dbt.
    done = _dbt("--version")
    assert done.returncode == 0, done.stdout
    assert "Core:" in done.stdout  # the warm process wrote to the command's own output
    assert not socket_path.exists()  # taken: a process serves one command

    cold = _dbt("--version")  # no warm process left: dbt runs in the command's process
    assert cold.returncode == 0 and "Core:" in cold.stdout


def test_the_warm_process_returns_dbts_status_and_errors(no_warm_process):
    assert start_warm_dbt()
    socket_path = Path(os.environ[WARM_SOCKET_ENV])
    done = _dbt("no-such-command")
    assert done.returncode == 2
    assert "No such command 'no-such-command'" in done.stdout
    assert not socket_path.exists()


def test_the_warm_process_goes_when_the_run_process_does(tmp_path, no_warm_process):
    script = (
        "import os\n"
        "from datatrendz_pipelines.warehouse.dbt_process import WARM_SOCKET_ENV, start_warm_dbt\n"
        "start_warm_dbt()\n"
        "print(os.environ[WARM_SOCKET_ENV])\n"
    )
    started = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])},
    )
    socket_path = Path(started.stdout.strip())
    assert socket_path.name == "socket"
    # Its parent has exited: once dbt is imported, it sees that and removes its socket.
    wait_for(f"{socket_path} to be removed", lambda: not socket_path.exists(), 60, 0.1)


def _warm_up_in_a_process(warm_up: WarmUp, scratch: Path) -> str:
    """run_warm_up in a new process (as in a warm process: dbt's state is per process), with
    its temporary folders under `scratch`; what it returned."""
    script = (
        "from datatrendz_pipelines.warehouse.dbt_process import WarmUp, run_warm_up\n"
        f"print(run_warm_up(WarmUp(args={list(warm_up.args)!r}, state={warm_up.state!r})))\n"
    )
    scratch.mkdir(exist_ok=True)
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={**os.environ, "TMPDIR": str(scratch)},
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_warm_up_parses_a_copy_of_the_state_without_opening_the_warehouse(settings, tmp_path):
    project = dbt_project()  # parses the project into this home
    warm_up = warm_up_for(project)
    assert warm_up.args == [
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--target",
        "duckdb",
    ]
    state = Path(warm_up.state)
    before = (state.read_bytes(), state.stat().st_mtime_ns)
    home_files = sorted(Path(project.target_path).iterdir())

    # The raw steps write to the warehouse while the warm process warms up: parsing must not
    # wait for (or take) the file's lock.
    settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(settings.warehouse_path)):
        assert _warm_up_in_a_process(warm_up, tmp_path / "scratch") == "True"

    assert (state.read_bytes(), state.stat().st_mtime_ns) == before
    assert sorted(Path(project.target_path).iterdir()) == home_files
    assert not list((tmp_path / "scratch").iterdir())  # its scratch folder is gone


def test_no_warm_up_without_parse_state_nor_past_a_broken_project(tmp_path):
    missing = WarmUp(args=["--target", "duckdb"], state=str(tmp_path / "partial_parse.msgpack"))
    assert not run_warm_up(missing)  # returns at once: a whole parse is not a warm-up

    (tmp_path / "partial_parse.msgpack").write_bytes(b"not a parse state")
    broken = WarmUp(
        args=["--project-dir", str(tmp_path / "no-project"), "--target", "duckdb"],
        state=str(tmp_path / "partial_parse.msgpack"),
    )
    assert _warm_up_in_a_process(broken, tmp_path / "scratch") == "False"
    assert not list((tmp_path / "scratch").iterdir())


def test_a_warm_process_that_warmed_up_runs_the_command(settings, no_warm_process):
    assert start_warm_dbt(warm_up_for(dbt_project()))
    socket_path = Path(os.environ[WARM_SOCKET_ENV])
    done = _dbt("--version")
    assert done.returncode == 0, done.stdout
    assert "Core:" in done.stdout
    assert not socket_path.exists()
