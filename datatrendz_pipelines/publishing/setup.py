"""`python -m datatrendz_pipelines.publishing.setup --database X`: roles and schema for BI.

Reads the admin connection string from DATATRENDZ_PUBLISH_ADMIN_URL, the BI role's password from
DATATRENDZ_BI_PASSWORD and, optionally, a password that lets the writer role log in from
DATATRENDZ_WRITER_PASSWORD. Neither secret nor the URL is ever printed.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from datatrendz_pipelines.publishing.access import setup_access

ADMIN_URL_VAR = "DATATRENDZ_PUBLISH_ADMIN_URL"
READER_PASSWORD_VAR = "DATATRENDZ_BI_PASSWORD"
WRITER_PASSWORD_VAR = "DATATRENDZ_WRITER_PASSWORD"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m datatrendz_pipelines.publishing.setup",
        description=f"Create the analytics schema, the writer role and the read-only BI role "
        f"(admin URL from {ADMIN_URL_VAR}, BI password from {READER_PASSWORD_VAR}).",
    )
    parser.add_argument("--database", required=True, help="database that holds the schema")
    parser.add_argument("--schema", default="analytics")
    parser.add_argument("--writer-role", default="datatrendz_writer")
    parser.add_argument("--reader-role", default="datatrendz_bi")
    args = parser.parse_args(argv)
    admin_url = os.environ.get(ADMIN_URL_VAR)
    if not admin_url:
        print(f"error: set {ADMIN_URL_VAR} to a superuser connection string", file=sys.stderr)
        return 2
    reader_password = os.environ.get(READER_PASSWORD_VAR) or None
    if reader_password is None:
        print(
            f"warning: {READER_PASSWORD_VAR} is not set: {args.reader_role} keeps its password "
            "(a new role gets none and can log in only where pg_hba.conf trusts it)",
            file=sys.stderr,
        )
    setup_access(
        admin_url,
        database=args.database,
        schema=args.schema,
        writer_role=args.writer_role,
        reader_role=args.reader_role,
        reader_password=reader_password,
        writer_password=os.environ.get(WRITER_PASSWORD_VAR) or None,
    )
    print(
        f"{args.database}: schema {args.schema} owned by {args.writer_role}; "
        f"{args.reader_role} can read it and nothing else"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
