"""`python -m ml.registry rollback --task revenue --version 3 [--tracking-uri URI] [--duckdb PATH]`."""

from __future__ import annotations

import argparse
import json
import os

from ml.promotions import promotions_frame
from ml.registry import MODEL_NAMES, rollback


def main(argv: list[str] | None = None) -> int:
    """`rollback --task T --version V [--tracking-uri URI] [--duckdb PATH]`."""
    parser = argparse.ArgumentParser(prog="python -m ml.registry")
    sub = parser.add_subparsers(dest="command", required=True)
    rb = sub.add_parser("rollback", help="move the champion alias back to a version")
    rb.add_argument("--task", choices=sorted(MODEL_NAMES), required=True)
    rb.add_argument("--version", required=True)
    rb.add_argument("--tracking-uri", default=os.environ.get("MLFLOW_TRACKING_URI"))
    rb.add_argument("--duckdb", help="warehouse file: append the move to ml.model_promotions")
    args = parser.parse_args(argv)
    if not args.tracking_uri:
        parser.error("--tracking-uri or MLFLOW_TRACKING_URI is required")
    record = rollback(args.task, args.version, args.tracking_uri)
    if args.duckdb:
        import duckdb

        from ml.promotions import record_promotions

        with duckdb.connect(args.duckdb) as conn:
            record_promotions(conn, [record])
    print(json.dumps(record.as_dict()))
    print(promotions_frame([record]).to_string(index=False))
    return 0
