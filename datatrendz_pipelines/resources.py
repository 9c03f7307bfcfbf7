"""Dagster resources: the DuckDB warehouse and the landing zone."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb
from pydantic import Field

from datatrendz_pipelines.ingestion.landing import LandingZone

# Another process (dbt, a second run) may hold DuckDB's single-writer lock for a while.
_LOCK_RETRY_SECONDS = (0.5, 1, 2, 4, 8, 15, 30)


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB warehouse file. Only one process may write it at a time, so every asset that
    writes it runs in the `warehouse` concurrency pool; a connection waits for the lock."""

    path: str = Field(description="Path of the DuckDB warehouse file.")
    threads: int = Field(default=2, description="DuckDB worker threads.")
    memory_limit: str = Field(default="2GB", description="DuckDB memory limit, e.g. 2GB.")

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        config = {
            "threads": self.threads,
            "memory_limit": self.memory_limit,
            # Keep DuckDB's caches out of the home folder: CI and servers may not own it.
            "extension_directory": str(Path(self.path).parent / ".duckdb_extensions"),
        }
        conn = None
        for delay in (*_LOCK_RETRY_SECONDS, None):
            try:
                conn = duckdb.connect(self.path, config=config)
                break
            except duckdb.IOException as exc:
                if delay is None or "lock" not in str(exc).lower():
                    raise
                time.sleep(delay)
        assert conn is not None
        try:
            yield conn
        finally:
            conn.close()


class LandingZoneResource(dg.ConfigurableResource):
    """Where source files arrive, where loaded files are archived and bad files are kept."""

    landing_dir: str = Field(
        description="Folder the sources drop files into: <source>/date=YYYY-MM-DD/."
    )
    archive_dir: str = Field(description="Loaded files are moved here, same layout.")
    rejected_dir: str = Field(
        description="Unreadable files are moved here with a .reason.txt beside them."
    )

    def zone(self) -> LandingZone:
        return LandingZone(Path(self.landing_dir), Path(self.archive_dir), Path(self.rejected_dir))
