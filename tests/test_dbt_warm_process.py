"""The warm dbt process: started by the steps before the dbt step, it runs that step's command."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from datatrendz_pipelines.warehouse.dbt_process import WARM_SOCKET_ENV, start_warm_dbt
from datatrendz_pipelines.warehouse.project import DBT_EXECUTABLE


@pytest.fixture
def no_warm_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(WARM_SOCKET_ENV, "")  # and back to the test process's value afterwards


def _dbt(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [DBT_EXECUTABLE, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def _gone(path: Path, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while path.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    return not path.exists()


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
    assert _gone(socket_path, 60)
