"""Jobs the run worker's tests hand to a worker: small, and telling which process ran them."""

import json
import os
import time
from pathlib import Path

import dagster as dg


class ReportConfig(dg.Config):
    path: str


@dg.op
def report_process(config: ReportConfig) -> None:
    Path(config.path).write_text(json.dumps({"pid": os.getpid(), "parent": os.getppid()}))


@dg.op
def wait_long(config: ReportConfig) -> None:
    Path(config.path).write_text(str(os.getpid()))
    time.sleep(120)


@dg.job(executor_def=dg.in_process_executor)
def report_job() -> None:
    report_process()


@dg.job(executor_def=dg.in_process_executor)
def wait_job() -> None:
    wait_long()


defs = dg.Definitions(jobs=[report_job, wait_job])
