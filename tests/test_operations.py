"""Operations: the deployment instance on PostgreSQL with the webserver and the daemon running.

One module-scoped deployment (a fresh instance database, a fresh publishing database, a tiny
generated business) serves every test here: it is started the way `make serve` starts it, and
its first day is launched through the GraphQL API before the tests look at it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import os
import re
import shutil
import signal
import socket
import struct
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import psycopg
import pytest
import yaml

from datatrendz_pipelines import serve
from datatrendz_pipelines.run_worker import PID_TAG, SOCKET_ENV, wait_ready
from datatrendz_pipelines.settings import PROJECT_ROOT
from tests.waiting import wait_for

POSTGRES_URL = os.environ.get(
    "DATATRENDZ_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
LOCATION, REPOSITORY = "datatrendz", "__repository__"
JOB = "daily_pipeline_job"
DAYS = [dt.date(2025, 6, 2) + dt.timedelta(days=i) for i in range(7)]
# Which day each test delivers: nothing is shared but the first day the deployment ran.
FIRST, SENSOR_DAY, POOL_DAYS, KILL_DAY, BACKFILL_DAYS = (
    DAYS[0],
    DAYS[1],
    DAYS[2:4],
    DAYS[4],
    DAYS[5:7],
)
# dagster-graphql's client still calls gql the old way.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Using variable_values and operation_name:DeprecationWarning"
)
RUN_TIMEOUT = 600  # seconds: a tiny day takes about a minute alone, far longer beside other work


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url(name: str) -> str:
    return POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"


@dataclass
class Deployment:
    env: dict[str, str]
    home: Path
    incoming: Path
    instance_db: str
    publish_db: str
    logs: Path
    client: Any  # DagsterGraphQLClient
    instance: Any  # DagsterInstance on the same storage
    first_run_id: str = ""

    @property
    def warehouse(self) -> Path:
        return self.home / "warehouse.duckdb"

    def deliver(self, day: dt.date, source: str = "*") -> int:
        """Move the generated files of `day` into the landing zone; returns how many."""
        moved = 0
        for folder in sorted(self.incoming.glob(f"{source}/date={day.isoformat()}")):
            target = self.home / "landing" / folder.relative_to(self.incoming)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(folder, target)
            moved += len(list(target.iterdir()))
        return moved

    def launch(self, day: dt.date, tags: dict[str, str] | None = None, assets=None) -> str:
        return self.client.submit_job_execution(
            JOB,
            repository_location_name=LOCATION,
            repository_name=REPOSITORY,
            tags={"dagster/partition": day.isoformat(), **(tags or {})},
            asset_selection=assets,
        )

    def load_customers(self) -> None:
        """Load every day's new customers, so any day's orders find theirs whichever test runs."""
        for day in DAYS[1:]:
            self.deliver(day, "customers")
        run_id = self.client.submit_job_execution(
            JOB,
            repository_location_name=LOCATION,
            repository_name=REPOSITORY,
            tags={
                "dagster/asset_partition_range_start": DAYS[1].isoformat(),
                "dagster/asset_partition_range_end": DAYS[-1].isoformat(),
            },
            asset_selection=[["raw", "customers"]],
        )
        assert self.wait_finished(run_id) == "SUCCESS", self.logs

    def wait_finished(self, run_id: str, timeout: float = RUN_TIMEOUT) -> str:
        from dagster import DagsterRunStatus

        done = {DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}

        def finished() -> DagsterRunStatus | None:
            status = self.client.get_run_status(run_id)
            return status if status in done else None

        return wait_for(f"run {run_id} to finish (logs: {self.logs})", finished, timeout, 2).value

    def messages(self, run_id: str) -> list[str]:
        return [entry.message or "" for entry in self.instance.all_logs(run_id)]

    def warehouse_rows(self, sql: str, params: list | None = None) -> list[tuple]:
        def read() -> list[tuple] | None:
            try:
                with duckdb.connect(str(self.warehouse), read_only=True) as conn:
                    return conn.execute(sql, params).fetchall()
            except duckdb.IOException:  # a run is writing: try again
                return None

        return wait_for("a read of the warehouse between two writers", read, 120)

    def graphql(self, query: str, variables: dict) -> dict:
        return self.client._execute(query, variables)


SENSOR_QUERY = """
query ($selector: SensorSelector!) {
  sensorOrError(sensorSelector: $selector) {
    __typename
    ... on Sensor { jobOriginId sensorState { selectorId status } }
    ... on PythonError { message }
  }
}"""
STOP_SENSOR = """
mutation ($origin: String, $selector: String) {
  stopSensor(jobOriginId: $origin, jobSelectorId: $selector) {
    __typename
    ... on StopSensorMutationResult { instigationState { status } }
    ... on PythonError { message }
  }
}"""
START_SENSOR = """
mutation ($selector: SensorSelector!) {
  startSensor(sensorSelector: $selector) {
    __typename
    ... on Sensor { sensorState { status } }
    ... on PythonError { message }
  }
}"""


def sensor_selector(name: str) -> dict:
    return {
        "repositoryLocationName": LOCATION,
        "repositoryName": REPOSITORY,
        "sensorName": name,
    }


def set_sensor(deployment: Deployment, name: str, running: bool) -> str:
    """Start or stop a sensor through the GraphQL API; returns its new status."""
    if running:
        answer = deployment.graphql(START_SENSOR, {"selector": sensor_selector(name)})
        assert answer["startSensor"]["__typename"] == "Sensor", answer
        return answer["startSensor"]["sensorState"]["status"]
    found = deployment.graphql(SENSOR_QUERY, {"selector": sensor_selector(name)})["sensorOrError"]
    assert found["__typename"] == "Sensor", found
    answer = deployment.graphql(
        STOP_SENSOR,
        {"origin": found["jobOriginId"], "selector": found["sensorState"]["selectorId"]},
    )["stopSensor"]
    assert answer["__typename"] == "StopSensorMutationResult", answer
    return answer["instigationState"]["status"]


def write_instance_config(dagster_home: Path) -> Path:
    """The repository's dagster.yaml, with run monitoring looking every few seconds and freeing
    the pool slots of dead runs after 5 s instead of 30 s."""
    config = yaml.safe_load((PROJECT_ROOT / "dagster.yaml").read_text())
    config["run_monitoring"]["poll_interval_seconds"] = 5
    config["run_monitoring"]["free_slots_after_run_end_seconds"] = 5
    dagster_home.mkdir(parents=True, exist_ok=True)
    (dagster_home / "dagster.yaml").write_text(yaml.safe_dump(config))
    return dagster_home / "dagster.yaml"


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """Webserver and daemon on a fresh PostgreSQL instance database, publishing to another fresh
    database; the landing-zone sensor stopped; the first day run through the GraphQL API, then
    the customers of the other days loaded (their orders reference them)."""
    from dagster import DagsterInstance
    from dagster_graphql import DagsterGraphQLClient

    from datatrendz_pipelines.demo import GeneratorConfig, generate
    from datatrendz_pipelines.publishing.access import setup_access

    try:
        admin = psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}: {error}")
    suffix = uuid.uuid4().hex[:10]
    instance_db, publish_db = f"datatrendz_ops_{suffix}", f"datatrendz_ops_pub_{suffix}"
    monkeypatch = pytest.MonkeyPatch()
    processes = []
    instance = None
    with admin:
        admin.execute(f'CREATE DATABASE "{instance_db}"')
        admin.execute(f'CREATE DATABASE "{publish_db}"')
        try:
            root = tmp_path_factory.mktemp("ops")
            home, logs = root / "home", root / "logs"
            logs.mkdir()
            dagster_home = home / "dagster-serve"
            write_instance_config(dagster_home)
            incoming = root / "incoming"
            generate(
                GeneratorConfig(start=DAYS[0], days=len(DAYS), scale="tiny", seed=5, fault_rate=0),
                incoming,
                root / "demo",
            )
            setup_access(database_url(publish_db), database=publish_db)
            pg = psycopg.conninfo.conninfo_to_dict(POSTGRES_URL)
            settings_env = {
                "DATATRENDZ_HOME": str(home),
                "DATATRENDZ_PARTITIONS_START": "2025-01-01",
                "DATATRENDZ_LANDING_QUIET_SECONDS": "1",
                "DATATRENDZ_DUCKDB_THREADS": "1",
                "DATATRENDZ_PUBLISH_URL": database_url(publish_db),
                "DAGSTER_PG_HOST": str(pg.get("host", "127.0.0.1")),
                "DAGSTER_PG_PORT": str(pg.get("port", "5432")),
                "DAGSTER_PG_USER": str(pg.get("user", "postgres")),
                "DAGSTER_PG_PASSWORD": str(pg.get("password", "")),
                "DAGSTER_PG_DB": instance_db,
                "OMP_NUM_THREADS": "1",
            }
            for var in [v for v in os.environ if v.startswith("DATATRENDZ_")]:
                if var not in settings_env and var != "DATATRENDZ_TEST_POSTGRES_URL":
                    monkeypatch.delenv(var)
            monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
            for var, value in settings_env.items():
                monkeypatch.setenv(var, value)
            port = free_port()
            env = serve.serve_env(os.environ, dagster_home, "127.0.0.1", port, free_port())
            monkeypatch.setenv("DAGSTER_HOME", str(dagster_home))

            webserver, daemon, worker = serve.services(
                "127.0.0.1", port, None, "", run_worker_socket=Path(env[SOCKET_ENV])
            )
            processes.append(serve.start(webserver, env, logs / "webserver.log"))
            serve.wait_healthy(webserver.health_url, 300, processes[0], "the webserver")
            client = DagsterGraphQLClient("127.0.0.1", port_number=port)
            instance = DagsterInstance.from_config(str(dagster_home))
            deployment = Deployment(
                env, home, incoming, instance_db, publish_db, logs, client, instance
            )
            # Stopped before the daemon starts, so only the sensor test's files start a run.
            assert set_sensor(deployment, "landing_zone_sensor", running=False) == "STOPPED"
            processes.append(serve.start(worker, env, logs / "run-worker.log"))
            wait_ready(worker.socket, 300, processes[-1])
            processes.append(serve.start(daemon, env, logs / "daemon.log"))

            assert deployment.deliver(FIRST) > 0
            deployment.first_run_id = deployment.launch(FIRST)
            deployment.wait_finished(deployment.first_run_id)
            deployment.load_customers()
            yield deployment
        finally:
            serve.stop(processes)
            if instance is not None:
                instance.dispose()
            monkeypatch.undo()
            admin.execute(f'DROP DATABASE IF EXISTS "{instance_db}" WITH (FORCE)')
            admin.execute(f'DROP DATABASE IF EXISTS "{publish_db}" WITH (FORCE)')


def instance_query(deployment: Deployment, sql: str, params: list) -> list[tuple]:
    with psycopg.connect(database_url(deployment.instance_db)) as conn:
        return conn.execute(sql, params).fetchall()


def publish_query(deployment: Deployment, sql: str, params: list | None = None) -> list[tuple]:
    with psycopg.connect(database_url(deployment.publish_db)) as conn:
        return conn.execute(sql, params).fetchall()


@pytest.mark.slow
@pytest.mark.postgres
def test_a_run_launched_through_graphql_succeeds_logs_to_postgres_and_publishes(deployment):
    from dagster import DagsterEventType

    run_id = deployment.first_run_id
    assert deployment.client.get_run_status(run_id).value == "SUCCESS", deployment.logs
    # The daemon handed it to the warm run worker, which forked the process that executed it.
    run = deployment.instance.get_run_by_id(run_id)
    pid = run.tags[PID_TAG]
    started = [
        e.message for e in deployment.instance.all_logs(run_id) if "Started process" in e.message
    ]
    assert started == [f"Started process for run (pid: {pid})."]

    events = dict(
        instance_query(
            deployment,
            "SELECT dagster_event_type, count(*) FROM event_logs WHERE run_id = %s GROUP BY 1",
            [run_id],
        )
    )
    assert events.get(DagsterEventType.RUN_SUCCESS.value) == 1
    assert events.get(DagsterEventType.ASSET_MATERIALIZATION.value, 0) > 10

    published = dict(
        publish_query(
            deployment,
            "SELECT table_name, rows FROM analytics.publish_status WHERE dagster_run_id = %s",
            [run_id],
        )
    )
    assert "kpi_daily_sales" in published
    (sales_rows,) = publish_query(
        deployment,
        "SELECT count(*) FROM analytics.kpi_daily_sales WHERE sales_date = %s",
        [FIRST],
    )[0]
    assert sales_rows > 0 and published["kpi_daily_sales"] >= sales_rows


@pytest.mark.slow
@pytest.mark.postgres
def test_a_file_in_the_landing_zone_makes_the_sensor_start_a_run(deployment):
    from dagster import RunsFilter

    assert set_sensor(deployment, "landing_zone_sensor", running=True) == "RUNNING"
    try:
        assert deployment.deliver(SENSOR_DAY) > 0
        filters = RunsFilter(
            tags={
                "datatrendz/trigger": "landing_zone_sensor",
                "dagster/partition": SENSOR_DAY.isoformat(),
            }
        )
        (run,) = wait_for(
            f"the landing-zone sensor to start a run for {SENSOR_DAY}",
            lambda: deployment.instance.get_runs(filters=filters),
            240,
            2,
        )
    finally:
        set_sensor(deployment, "landing_zone_sensor", running=False)
    assert run.job_name == JOB
    assert deployment.wait_finished(run.run_id) == "SUCCESS"
    (orders,) = deployment.warehouse_rows(
        "SELECT count(*) FROM raw.orders WHERE _partition_date = ?", [SENSOR_DAY]
    )[0]
    assert orders > 0


@pytest.mark.slow
@pytest.mark.postgres
def test_two_runs_writing_the_warehouse_together_both_succeed_through_the_pool(deployment):
    from datatrendz_pipelines.contracts import load_contracts

    raw = [["raw", name] for name in load_contracts()]
    for day in POOL_DAYS:
        assert deployment.deliver(day) > 0
    # Different values of the writes tag: the run queue lets both start; only the pool orders
    # their warehouse steps.
    run_ids = [
        deployment.launch(day, tags={"datatrendz/writes": f"pool-test-{day}"}, assets=raw)
        for day in POOL_DAYS
    ]
    statuses = [deployment.wait_finished(run_id) for run_id in run_ids]
    assert statuses == ["SUCCESS", "SUCCESS"], deployment.logs
    # The pool (limit 1) lets one warehouse step run at a time across both runs, whether the queue
    # held the second run back or its steps waited for the slot.
    steps = sorted(
        interval for run_id in run_ids for interval in step_intervals(deployment, run_id)
    )
    assert len(steps) == 2  # every source of a run loads in its one raw step
    for (_, end), (start, _) in itertools.pairwise(steps):
        assert end <= start, "two warehouse steps ran at the same time"
    for run_id in run_ids:
        assert not [m for m in deployment.messages(run_id) if "Could not set lock" in m]
    loaded = deployment.warehouse_rows(
        "SELECT DISTINCT _partition_date FROM raw.orders WHERE _partition_date IN (?, ?)",
        list(POOL_DAYS),
    )
    assert sorted(d for (d,) in loaded) == list(POOL_DAYS)


def step_intervals(deployment: Deployment, run_id: str) -> list[tuple[float, float]]:
    """(start, end) timestamps of each step of a run that finished."""
    from dagster import DagsterEventType

    started: dict[str, float] = {}
    intervals = []
    for entry in deployment.instance.all_logs(run_id):
        kind = entry.dagster_event_type
        if kind == DagsterEventType.STEP_START:
            started[entry.step_key] = entry.timestamp
        elif kind in (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE):
            intervals.append((started[entry.step_key], entry.timestamp))
    return intervals


def run_worker_pid(deployment: Deployment, run_id: str) -> int | None:
    for message in deployment.messages(run_id):
        found = re.search(r"Started process for run \(pid: (\d+)\)", message)
        if found:
            return int(found.group(1))
    return None


def step_events(deployment: Deployment, run_id: str, event_type: str) -> set[str]:
    from dagster import DagsterEventType

    return {
        entry.step_key or ""
        for entry in deployment.instance.all_logs(run_id, of_type=DagsterEventType(event_type))
    }


@pytest.mark.slow
@pytest.mark.postgres
def test_a_killed_run_is_marked_failed_and_its_retry_succeeds_without_duplicates(deployment):
    from dagster import RunsFilter

    from datatrendz_pipelines.definitions import build_definitions
    from datatrendz_pipelines.ingestion.assets import RAW_STEP

    # The raw loads and the main dbt step (staging -> marts -> KPIs): no forecasts, no publishing.
    defs = build_definitions()
    assets = [
        key.path
        for a in defs.assets
        if a.node_def.name in ("warehouse_models", RAW_STEP)
        for key in a.keys
    ]
    assert deployment.deliver(KILL_DAY) > 0
    run_id = deployment.launch(KILL_DAY, assets=assets)
    wait_for(
        "the dbt step to start",
        lambda: any("warehouse_models" in k for k in step_events(deployment, run_id, "STEP_START")),
        RUN_TIMEOUT,
        0.25,
    )
    pid = run_worker_pid(deployment, run_id)
    assert pid, "no 'Started process for run (pid: ...)' event"
    os.kill(pid, signal.SIGKILL)

    assert deployment.wait_finished(run_id, 300) == "FAILURE"
    assert not any("warehouse_models" in k for k in step_events(deployment, run_id, "STEP_SUCCESS"))
    (retry,) = wait_for(
        f"the automatic retry of run {run_id}",
        lambda: deployment.instance.get_runs(
            filters=RunsFilter(tags={"dagster/parent_run_id": run_id})
        ),
        300,
        2,
    )
    assert deployment.wait_finished(retry.run_id) == "SUCCESS", deployment.logs

    checks = {
        "raw.orders": "order_id",
        "raw.order_lines": "order_id, line_number",
        "core.fct_orders": "order_id",
    }
    for table, key in checks.items():
        date_column = "_partition_date" if table.startswith("raw") else "order_date"
        total, distinct = deployment.warehouse_rows(
            f"SELECT count(*), count(DISTINCT ({key})) FROM {table} WHERE {date_column} = ?",
            [KILL_DAY],
        )[0]
        assert total == distinct > 0, table


@pytest.mark.slow
@pytest.mark.postgres
def test_runbook_backfill_of_a_date_range_from_the_command_line_is_one_run(deployment):
    from dagster import RunsFilter

    for day in BACKFILL_DAYS:
        assert deployment.deliver(day) > 0
    first, last = (d.isoformat() for d in (BACKFILL_DAYS[0], BACKFILL_DAYS[-1]))
    run_shell(
        f"""
        .venv/bin/dagster job launch -w workspace.yaml -j daily_pipeline_job \\
          --tags '{{"dagster/asset_partition_range_start": "{first}", "dagster/asset_partition_range_end": "{last}"}}'
        """,
        deployment.env,
    )
    (run,) = deployment.instance.get_runs(
        filters=RunsFilter(tags={"dagster/asset_partition_range_start": first})
    )
    assert deployment.wait_finished(run.run_id) == "SUCCESS", deployment.logs
    days = deployment.warehouse_rows(
        "SELECT DISTINCT sales_date FROM kpi.kpi_daily_sales WHERE sales_date BETWEEN ? AND ?",
        list(BACKFILL_DAYS),
    )
    assert sorted(d for (d,) in days) == list(BACKFILL_DAYS)


class RefusingProxy:
    """A TCP proxy to PostgreSQL that drops the first `refuse` connections at once (a reset,
    as from a server that is restarting), then forwards."""

    def __init__(self, target_host: str, target_port: int, refuse: int) -> None:
        self.target = (target_host, target_port)
        self.refuse, self.refused, self.forwarded = refuse, 0, 0
        self.loop = asyncio.new_event_loop()
        self.server = self.loop.run_until_complete(
            asyncio.start_server(self._handle, "127.0.0.1", 0)
        )
        self.port = self.server.sockets[0].getsockname()[1]
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.refused < self.refuse:
            self.refused += 1
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
            return
        self.forwarded += 1
        upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))

    def close(self) -> None:
        async def shutdown() -> None:
            self.server.close()
            await self.server.wait_closed()

        asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


@pytest.mark.postgres
def test_publishing_retries_when_postgresql_refuses_a_connection(
    settings, monkeypatch, postgres_database
):
    import dagster as dg

    from datatrendz_pipelines.definitions import build_definitions
    from datatrendz_pipelines.publishing.access import setup_access

    database = postgres_database.rsplit("/", 1)[1]
    setup_access(postgres_database, database=database)
    server = psycopg.conninfo.conninfo_to_dict(postgres_database)
    proxy = RefusingProxy(str(server.get("host", "127.0.0.1")), int(server.get("port", 5432)), 1)
    try:
        proxied = f"postgresql://{server.get('user', 'postgres')}@127.0.0.1:{proxy.port}/{database}"
        monkeypatch.setenv("DATATRENDZ_PUBLISH_URL", proxied)
        settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
        with duckdb.connect(str(settings.warehouse_path)) as conn:
            conn.execute("CREATE SCHEMA kpi")
            conn.execute(
                "CREATE TABLE kpi.kpi_daily_sales AS SELECT DATE '2025-03-02' AS sales_date, "
                "'S01' AS store_id, 99.90::DECIMAL(14,2) AS net_revenue"
            )
        defs = build_definitions(settings)
        asset = defs.get_assets_def(dg.AssetKey(["analytics", "kpi_daily_sales"]))
        result = dg.materialize([asset], resources=defs.resources, partition_key="2025-03-02")
    finally:
        proxy.close()

    assert result.success
    retries = [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    assert len(retries) == 1 and proxy.refused == 1 and proxy.forwarded >= 1
    with psycopg.connect(postgres_database) as conn:
        assert conn.execute("SELECT count(*) FROM analytics.kpi_daily_sales").fetchone() == (1,)


# --- make serve, pieces that need no server ---------------------------------------------------


def test_serve_builds_the_three_services_on_the_given_host_and_ports(tmp_path):
    found = {s.name: s for s in serve.services("127.0.0.1", 3100, 5100, "sqlite:///m.db", True)}
    assert set(found) == {"dagster-webserver", "dagster-daemon", "mlflow-ui"}
    web = found["dagster-webserver"].command
    assert web[web.index("-h") + 1] == "127.0.0.1" and web[web.index("-p") + 1] == "3100"
    assert "--read-only" in web and str(serve.WORKSPACE_YAML) in web
    assert found["dagster-webserver"].health_url == "http://127.0.0.1:3100/server_info"
    assert found["dagster-daemon"].command[1:3] == ["run", "-w"]
    assert "5100" in found["mlflow-ui"].command and "sqlite:///m.db" in found["mlflow-ui"].command
    assert [s.name for s in serve.services("127.0.0.1", 3100, None, "")] == [
        "dagster-webserver",
        "dagster-daemon",
    ]
    with_worker = serve.services("127.0.0.1", 3100, None, "", run_worker_socket=tmp_path / "w")
    assert with_worker[-1].name == "run-worker" and with_worker[-1].socket == tmp_path / "w"
    assert with_worker[-1].command[-2:] == ["--socket", str(tmp_path / "w")]


def test_serve_env_defaults_the_instance_database_but_keeps_what_is_set(tmp_path):
    env = serve.serve_env(
        {"DAGSTER_PG_HOST": "db.internal", "DAGSTER_EVENT_BATCH_SIZE": "200"},
        tmp_path,
        "127.0.0.1",
        3100,
        5100,
    )
    assert env["DAGSTER_HOME"] == str(tmp_path)
    # Dagster's range-run switches reach the run workers unless set otherwise.
    assert env["DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS"] == "true"
    assert env["DAGSTER_EVENT_BATCH_SIZE"] == "200"
    assert env["DAGSTER_PG_HOST"] == "db.internal"
    assert env["DAGSTER_PG_DB"] == "datatrendz_dagster" and env["DAGSTER_PG_PORT"] == "5432"
    assert env["DATATRENDZ_WEBSERVER_URL"] == "http://127.0.0.1:3100"
    assert env["DATATRENDZ_MLFLOW_UI_URL"] == "http://127.0.0.1:5100"


def test_the_instance_folder_gets_the_repository_dagster_yaml_once(tmp_path):
    config = serve.prepare_instance(tmp_path / "home")
    assert config.resolve() == serve.DEPLOY_INSTANCE_YAML
    own = tmp_path / "own"
    own.mkdir()
    (own / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    serve.prepare_instance(own)
    assert (own / "dagster.yaml").read_text() == "telemetry:\n  enabled: false\n"


@pytest.mark.slow
@pytest.mark.postgres
def test_serve_starts_the_three_services_and_sigterm_stops_them(tmp_path, postgres_database):
    import subprocess
    import urllib.error
    import urllib.request

    server = psycopg.conninfo.conninfo_to_dict(postgres_database)
    dagster_port, mlflow_port = free_port(), free_port()
    env = {
        **os.environ,
        "DATATRENDZ_HOME": str(tmp_path / "home"),
        "DAGSTER_PG_HOST": str(server.get("host", "127.0.0.1")),
        "DAGSTER_PG_PORT": str(server.get("port", "5432")),
        "DAGSTER_PG_USER": str(server.get("user", "postgres")),
        "DAGSTER_PG_DB": server["dbname"],
    }
    env.pop("MLFLOW_TRACKING_URI", None)
    command = [sys.executable, "-m", "datatrendz_pipelines.serve"]
    command += ["--dagster-port", str(dagster_port), "--mlflow-port", str(mlflow_port)]
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    urls = [
        f"http://127.0.0.1:{dagster_port}/server_info",
        f"http://127.0.0.1:{mlflow_port}/health",
    ]
    try:
        wait_for(
            f"make serve to print 'Ctrl-C stops everything' (log: {log})",
            lambda: "Ctrl-C stops everything" in log.read_text() or process.poll() is not None,
            300,
        )
        assert process.poll() is None, log.read_text()
        for url in urls:
            with urllib.request.urlopen(url, timeout=10) as response:
                assert response.status == 200
        process.send_signal(signal.SIGTERM)
        assert process.wait(120) == 0, log.read_text()
    finally:
        if process.poll() is None:  # a failure above: still stop the services it started
            process.send_signal(signal.SIGTERM)
            process.wait(120)
    for url in urls:
        with pytest.raises(urllib.error.URLError):
            urllib.request.urlopen(url, timeout=5)
    assert (tmp_path / "home" / "dagster-serve" / "dagster.yaml").resolve() == (
        serve.DEPLOY_INSTANCE_YAML
    )


def test_every_step_that_talks_to_postgres_mlflow_or_the_network_retries(settings):
    import dagster as dg

    from datatrendz_pipelines.definitions import build_definitions

    defs = build_definitions(settings)
    talking = [
        a
        for a in defs.assets
        if isinstance(a, dg.AssetsDefinition)
        and any({"postgres", "mlflow", "slack"} & set(spec.kinds) for spec in a.specs)
    ]
    assert {key.path[0] for a in talking for key in a.keys} >= {"analytics", "ml", "meta"}
    for asset in talking:
        policy = asset.node_def.retry_policy
        assert policy is not None and policy.max_retries >= 2, asset.keys
        assert policy.backoff == dg.Backoff.EXPONENTIAL, asset.keys


# --- runbooks (docs/operations.md), the commands that run on this machine ----------------------


def run_shell(script: str, env: dict[str, str]) -> str:
    import subprocess

    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        env={**os.environ, **env},
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"{script}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_runbook_warehouse_and_mlflow_backup_and_restore_round_trip(tmp_path):
    import sqlite3

    warehouse, backup = tmp_path / "warehouse.duckdb", tmp_path / "backup"
    backup.mkdir()
    with duckdb.connect(str(warehouse)) as conn:
        conn.execute("CREATE SCHEMA kpi")
        conn.execute(
            "CREATE TABLE kpi.sales AS SELECT range AS id, range * 1.5 AS amount FROM range(1000)"
        )
    env = {"W": str(warehouse), "BACKUP": str(backup), "PY": sys.executable}
    run_shell(
        """
        "$PY" -c "import duckdb, sys; c = duckdb.connect(sys.argv[1]); c.execute('CHECKPOINT').fetchall(); c.close()" "$W"
        cp "$W" "$BACKUP/warehouse-$(date -u +%Y%m%dT%H%M%SZ).duckdb"
        "$PY" -c "import duckdb, sys; duckdb.connect(sys.argv[1], read_only=True).execute(f\\"EXPORT DATABASE '{sys.argv[2]}' (FORMAT parquet)\\").fetchall()" "$W" "$BACKUP/warehouse-export"
        """,
        env,
    )
    with duckdb.connect(str(warehouse)) as conn:  # an accident after the backup
        conn.execute("DELETE FROM kpi.sales WHERE id < 500")
    (copy,) = backup.glob("warehouse-*.duckdb")
    run_shell(
        f"""
        cp "{copy}" "$W" && rm -f "$W.wal"
        "$PY" -c "import duckdb, sys; duckdb.connect(sys.argv[1]).execute(f\\"IMPORT DATABASE '{{sys.argv[2]}}'\\").fetchall()" "$W.restored" "$BACKUP/warehouse-export"
        """,
        env,
    )
    for restored in (warehouse, Path(f"{warehouse}.restored")):
        with duckdb.connect(str(restored), read_only=True) as conn:
            assert conn.execute("SELECT count(*), sum(amount) FROM kpi.sales").fetchall() == [
                (1000, 749250.0)
            ]

    mlflow_dir = tmp_path / "mlflow"
    mlflow_dir.mkdir()
    with sqlite3.connect(mlflow_dir / "mlflow.db") as db:
        db.execute("CREATE TABLE registered_models (name TEXT)")
        db.execute("INSERT INTO registered_models VALUES ('revenue_forecaster')")
    run_shell(
        """
        M=$MLFLOW_DIR
        "$PY" -c "import sqlite3, sys; sqlite3.connect(sys.argv[1]).backup(sqlite3.connect(sys.argv[2]))" "$M/mlflow.db" "$BACKUP/mlflow.db"
        """,
        {**env, "MLFLOW_DIR": str(mlflow_dir)},
    )
    with sqlite3.connect(backup / "mlflow.db") as db:
        assert db.execute("SELECT name FROM registered_models").fetchall() == [
            ("revenue_forecaster",)
        ]


@pytest.mark.postgres
def test_runbook_instance_migrate_and_pg_dump_restore(tmp_path, monkeypatch, postgres_database):
    import dagster as dg

    if not (shutil.which("pg_dump") and shutil.which("pg_restore") and shutil.which("createdb")):
        pytest.skip("pg_dump, pg_restore or createdb is not on PATH")
    server = psycopg.conninfo.conninfo_to_dict(postgres_database)
    dagster_home = tmp_path / "dagster-serve"
    write_instance_config(dagster_home)
    env = {
        "DAGSTER_HOME": str(dagster_home),
        "DAGSTER_PG_HOST": str(server.get("host", "127.0.0.1")),
        "DAGSTER_PG_PORT": str(server.get("port", "5432")),
        "DAGSTER_PG_USER": str(server.get("user", "postgres")),
        "DAGSTER_PG_PASSWORD": str(server.get("password", "")),
        "DAGSTER_PG_DB": server["dbname"],
        "BACKUP": str(tmp_path),
        "RESTORED": f"{server['dbname']}_restored",
        "BIN": str(Path(sys.executable).parent),
    }
    run_shell('"$BIN/dagster" instance migrate', env)
    for var, value in env.items():
        monkeypatch.setenv(var, value)

    @dg.asset
    def probe() -> int:
        return 1

    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        assert dg.materialize([probe], instance=instance).success
    try:
        run_shell(
            """
            pg_dump -Fc -h $DAGSTER_PG_HOST -p $DAGSTER_PG_PORT -U $DAGSTER_PG_USER -d $DAGSTER_PG_DB -f "$BACKUP/dagster.dump"
            createdb -h $DAGSTER_PG_HOST -p $DAGSTER_PG_PORT -U $DAGSTER_PG_USER $RESTORED
            pg_restore --no-owner -h $DAGSTER_PG_HOST -p $DAGSTER_PG_PORT -U $DAGSTER_PG_USER -d $RESTORED "$BACKUP/dagster.dump"
            """,
            env,
        )
        with psycopg.connect(database_url(env["RESTORED"])) as conn:
            assert conn.execute("SELECT count(*) FROM runs").fetchone() == (1,)
            (events,) = conn.execute(
                "SELECT count(*) FROM event_logs WHERE dagster_event_type = 'ASSET_MATERIALIZATION'"
            ).fetchone()
            assert events == 1
        # The restored copy is a working instance: migrate finds it current.
        run_shell('"$BIN/dagster" instance migrate', {**env, "DAGSTER_PG_DB": env["RESTORED"]})
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{env["RESTORED"]}" WITH (FORCE)')
