"""`make serve`: the Dagster webserver, the daemon and the warm run worker on the deployment
instance, and the MLflow UI.

The deployment instance is a folder (`DAGSTER_HOME`) holding the repository's `dagster.yaml`
(PostgreSQL storage); its `DAGSTER_PG_*` parts default to the machine's server. Each service runs
in its own process group; SIGINT or SIGTERM stops all of them (SIGTERM, then SIGKILL after a
grace period), and if one of them dies the others are stopped too.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from datatrendz_pipelines.instance import RANGE_RUN_ENVIRONMENT
from datatrendz_pipelines.postgres_instance import PG_DEFAULTS, ensure_database
from datatrendz_pipelines.run_worker import (
    SOCKET_ENV,
    default_socket_path,
    wait_ready,
    worker_command,
)
from datatrendz_pipelines.settings import PROJECT_ROOT, Settings

DEPLOY_INSTANCE_YAML = PROJECT_ROOT / "dagster.yaml"
WORKSPACE_YAML = PROJECT_ROOT / "workspace.yaml"


@dataclass(frozen=True)
class Service:
    name: str
    command: list[str]
    health_url: str | None
    # A run worker answers on a Unix socket rather than over HTTP.
    socket: Path | None = None


class _Stop(Exception):
    """SIGINT or SIGTERM arrived."""


def _bin(name: str) -> str:
    """A console script of this environment (next to the running Python)."""
    return str(Path(sys.executable).with_name(name))


def serve_env(
    environ: Mapping[str, str], dagster_home: Path, host: str, dagster_port: int, mlflow_port: int
) -> dict[str, str]:
    """The environment the services run with: `environ`, DAGSTER_HOME, and defaults for the
    DAGSTER_PG_* parts, Dagster's range-run switches, the run worker's socket and the UI links
    (only where `environ` leaves them unset)."""
    env = dict(environ)
    env["DAGSTER_HOME"] = str(dagster_home)
    env.setdefault(SOCKET_ENV, str(default_socket_path(dagster_home)))
    for var, default in (PG_DEFAULTS | RANGE_RUN_ENVIRONMENT).items():
        env.setdefault(var, default)
    env.setdefault("DATATRENDZ_WEBSERVER_URL", f"http://{host}:{dagster_port}")
    env.setdefault("DATATRENDZ_MLFLOW_UI_URL", f"http://{host}:{mlflow_port}")
    return env


def services(
    host: str,
    dagster_port: int,
    mlflow_port: int | None,
    mlflow_tracking_uri: str,
    read_only: bool = False,
    run_worker_socket: Path | None = None,
) -> list[Service]:
    """The webserver, the daemon, the run worker (when given its socket) and (unless
    `mlflow_port` is None) the MLflow UI."""
    webserver = [_bin("dagster-webserver"), "-w", str(WORKSPACE_YAML)]
    webserver += ["-h", host, "-p", str(dagster_port)]
    if read_only:
        webserver.append("--read-only")
    found = [
        Service("dagster-webserver", webserver, f"http://{host}:{dagster_port}/server_info"),
        Service("dagster-daemon", [_bin("dagster-daemon"), "run", "-w", str(WORKSPACE_YAML)], None),
    ]
    if run_worker_socket is not None:
        worker = worker_command(run_worker_socket)
        found.append(Service("run-worker", worker, None, run_worker_socket))
    if mlflow_port is not None:
        mlflow = [_bin("mlflow"), "ui", "--backend-store-uri", mlflow_tracking_uri]
        found.append(
            Service(
                "mlflow-ui",
                [*mlflow, "--host", host, "--port", str(mlflow_port)],
                f"http://{host}:{mlflow_port}/health",
            )
        )
    return found


def prepare_instance(dagster_home: Path) -> Path:
    """Give `dagster_home` the repository's dagster.yaml (a symlink, so it follows the checkout)
    unless it holds one already. Returns the dagster.yaml in use."""
    dagster_home.mkdir(parents=True, exist_ok=True)
    config = dagster_home / "dagster.yaml"
    if not config.exists():
        config.symlink_to(DEPLOY_INSTANCE_YAML)
    return config


def _default_signals() -> None:
    # A parent started in the background may ignore SIGINT; the services must not inherit that.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def start(
    service: Service, env: Mapping[str, str], log: Path | None = None
) -> subprocess.Popen[bytes]:
    """Start `service` in its own process group (output to `log` when given)."""
    out = open(log, "ab") if log else None  # noqa: SIM115 - the child keeps it open
    try:
        return subprocess.Popen(
            service.command,
            env=dict(env),
            cwd=PROJECT_ROOT,
            stdout=out,
            stderr=subprocess.STDOUT if out else None,
            start_new_session=True,
            preexec_fn=_default_signals,
        )
    finally:
        if out:
            out.close()


def wait_healthy(
    url: str, timeout: float, process: subprocess.Popen[bytes] | None = None, what: str = ""
) -> None:
    """Poll `url` until it answers 200. Raises TimeoutError naming `what`, or RuntimeError if
    `process` exits first."""
    deadline = time.monotonic() + timeout
    while True:
        if process is not None and process.poll() is not None:
            raise RuntimeError(
                f"{what or url} exited with code {process.returncode} while starting"
            )
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what or url} did not answer {url} within {timeout:.0f}s")
        time.sleep(1)


def stop(processes: Sequence[subprocess.Popen[bytes]], grace: float = 20) -> None:
    """SIGTERM each process group, wait up to `grace` seconds, then SIGKILL what is left."""
    for process in processes:
        if process.poll() is None:
            _signal_group(process, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for process in processes:
        try:
            process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _signal_group(process, signal.SIGKILL)
            process.wait()
        # Children of the service (code servers, run workers) share its process group.
        _signal_group(process, signal.SIGKILL)


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signum)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m datatrendz_pipelines.serve", description=__doc__
    )
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument(
        "--dagster-port", type=int, default=int(os.environ.get("DAGSTER_PORT", "3000"))
    )
    parser.add_argument(
        "--mlflow-port", type=int, default=int(os.environ.get("MLFLOW_PORT", "5000"))
    )
    parser.add_argument("--no-mlflow", action="store_true", help="do not start the MLflow UI")
    parser.add_argument(
        "--read-only", action="store_true", help="webserver for viewers: no launches, no toggles"
    )
    parser.add_argument(
        "--dagster-home",
        type=Path,
        default=None,
        help="instance folder (default: $DAGSTER_SERVE_HOME or $DATATRENDZ_HOME/dagster-serve)",
    )
    args = parser.parse_args(argv)

    settings = Settings.from_env()
    home = (
        args.dagster_home
        or Path(os.environ.get("DAGSTER_SERVE_HOME") or settings.home / "dagster-serve")
    ).resolve()
    config = prepare_instance(home)
    env = serve_env(os.environ, home, args.host, args.dagster_port, args.mlflow_port)
    try:
        if ensure_database(env):
            print(f"created database {env['DAGSTER_PG_DB']} on {env['DAGSTER_PG_HOST']}")
    except Exception as error:  # the services report the same problem with more context
        print(f"could not check or create database {env['DAGSTER_PG_DB']}: {error}")
    if settings.mlflow_tracking_uri.startswith("sqlite:///"):
        Path(settings.mlflow_tracking_uri.removeprefix("sqlite:///")).parent.mkdir(
            parents=True, exist_ok=True
        )
    wanted = services(
        args.host,
        args.dagster_port,
        None if args.no_mlflow else args.mlflow_port,
        settings.mlflow_tracking_uri,
        args.read_only,
        Path(env[SOCKET_ENV]),
    )

    def on_signal(signum: int, _frame: object) -> None:
        raise _Stop(signal.Signals(signum).name)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    print(f"Dagster instance: {config} (PostgreSQL database {env['DAGSTER_PG_DB']})")
    running: list[tuple[Service, subprocess.Popen[bytes]]] = []
    code = 0
    try:
        for service in wanted:
            running.append((service, start(service, env)))
        for service, process in running:
            if service.health_url:
                wait_healthy(service.health_url, 300, process, service.name)
                print(f"{service.name}: {service.health_url.rsplit('/', 1)[0]}")
            elif service.socket:
                wait_ready(service.socket, 300, process)
                print(f"{service.name}: {service.socket}")
        print("Ctrl-C stops everything.")
        while True:
            dead = [(s, p) for s, p in running if p.poll() is not None]
            if dead:
                service, process = dead[0]
                print(f"{service.name} exited with code {process.returncode}: stopping the others")
                code = 1
                break
            time.sleep(1)
    except _Stop as received:
        print(f"{received}: stopping")
    except (TimeoutError, RuntimeError) as error:
        print(error)
        code = 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stop([p for _, p in running])
        print("stopped")
    return code


if __name__ == "__main__":
    sys.exit(main())
