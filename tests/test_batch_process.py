"""The batch processes' collector settings and their exit without the interpreter's teardown."""

import gc
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb

from datatrendz_pipelines.batch_process import BATCH_GC_THRESHOLDS
from datatrendz_pipelines.settings import DBT_PROJECT_DIR
from datatrendz_pipelines.warehouse.project import DBT_EXECUTABLE


def test_loading_the_code_location_sets_the_batch_thresholds():
    import datatrendz_pipelines.definitions  # noqa: F401 - its import is what sets them

    assert gc.get_threshold() == BATCH_GC_THRESHOLDS


def test_an_exit_without_teardown_still_waits_runs_exit_handlers_and_flushes(tmp_path):
    marks = tmp_path / "marks.txt"
    script = textwrap.dedent(
        f"""
        import atexit, sys, threading, time
        from datatrendz_pipelines.batch_process import exit_without_teardown

        def note(text):
            with open({str(marks)!r}, "a") as out:
                out.write(text + "\\n")

        def late_worker():
            time.sleep(0.3)
            note("thread")

        atexit.register(note, "exit handler")
        threading.Thread(target=late_worker).start()
        sys.stdout.write("unflushed output")  # no newline: still in the buffer
        exit_without_teardown(3)
        note("after exit")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(Path(__file__).parents[1])},
    )
    assert done.returncode == 3, done.stderr
    assert done.stdout == "unflushed output"
    assert marks.read_text().splitlines() == ["thread", "exit handler"]


def test_the_dbt_command_returns_dbts_status(tmp_path):
    bad = subprocess.run([DBT_EXECUTABLE, "no-such-command"], capture_output=True, text=True)
    assert bad.returncode == 2
    assert "No such command 'no-such-command'" in bad.stderr


def test_the_dbt_command_leaves_the_warehouse_checkpointed(tmp_path: Path):
    # dbt-duckdb closes its database in an exit handler: skipped, the next step to open the
    # file would first replay dbt's whole write-ahead log.
    warehouse = tmp_path / "warehouse.duckdb"
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "DATATRENDZ_WAREHOUSE_PATH": str(warehouse),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    built = subprocess.run(
        [
            DBT_EXECUTABLE,
            "run",
            "--select",
            "dim_date",
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target-path",
            str(tmp_path / "target"),
            "--log-path",
            str(tmp_path / "logs"),
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    assert built.returncode == 0, built.stdout[-2000:]
    assert "Completed successfully" in built.stdout
    assert not Path(f"{warehouse}.wal").exists()
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        days = conn.execute("select count(*) from core.dim_date").fetchone()[0]
    assert days > 7000  # 2015-01-01 .. 2035-12-31
