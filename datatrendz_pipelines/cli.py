"""`datatrendz` command line: generate demo data, run the demo, print what the warehouse holds."""

from __future__ import annotations

import argparse
import datetime as dt
import time
from collections.abc import Sequence
from typing import NoReturn

from datatrendz_pipelines.batch_process import exit_code, exit_without_teardown
from datatrendz_pipelines.settings import Settings


def _yesterday() -> dt.date:
    return dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)


def _add_generate_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--scale",
        default="small",
        choices=["tiny", "small", "medium", "large"],
        help="size of the business (default: small)",
    )
    parser.add_argument("--days", type=int, default=365, help="number of days (default: 365)")
    parser.add_argument(
        "--end",
        type=dt.date.fromisoformat,
        default=None,
        help="last day, YYYY-MM-DD (default: yesterday, UTC)",
    )
    parser.add_argument("--seed", type=int, default=7, help="random seed (default: 7)")
    parser.add_argument(
        "--order-lines",
        type=int,
        default=None,
        help="total order lines to aim for, overriding the scale",
    )
    parser.add_argument(
        "--format",
        dest="file_format",
        default="csv",
        choices=["csv", "parquet", "jsonl"],
        help="file format (default: csv)",
    )
    parser.add_argument(
        "--fault-rate",
        type=float,
        default=0.001,
        help="share of fact rows given a data fault (default: 0.001; 0 for none)",
    )
    parser.add_argument(
        "--no-anomalies",
        action="store_true",
        help="do not inject KPI anomalies (traffic spike, revenue drop)",
    )


def _generate(args: argparse.Namespace, settings: Settings) -> None:
    from datatrendz_pipelines.demo import GeneratorConfig, generate

    end = args.end or _yesterday()
    config = GeneratorConfig(
        start=end - dt.timedelta(days=args.days - 1),
        days=args.days,
        scale=args.scale,
        order_lines=args.order_lines,
        seed=args.seed,
        file_format=args.file_format,
        fault_rate=args.fault_rate,
        anomalies=not args.no_anomalies,
    )
    started = time.perf_counter()
    manifest = generate(config, settings.landing_dir, settings.demo_dir, progress=print)
    seconds = time.perf_counter() - started
    lines = manifest.total_rows("order_lines")
    print(
        f"generated {config.days} days ({config.start} .. {end}) into {settings.landing_dir}: "
        f"{lines:,} order lines in {seconds:.1f}s ({lines / max(seconds, 1e-9):,.0f} lines/s); "
        f"{len(manifest.injected)} injected faults recorded in {settings.demo_dir / 'manifest.json'}"
    )


def _deliver_late(settings: Settings) -> None:
    from datatrendz_pipelines.demo import deliver_held_back

    moved = deliver_held_back(settings.demo_dir, settings.landing_dir)
    for path in moved:
        print(f"delivered {path}")
    if not moved:
        print("no held-back files to deliver")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="datatrendz", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    _add_generate_options(
        commands.add_parser("generate", help="write demo data into the landing zone")
    )
    commands.add_parser(
        "deliver-late", help="move the demo's held-back (late) files into the landing zone"
    )
    demo = commands.add_parser(
        "demo", help="generate data if there is none, then run the daily pipeline over every day"
    )
    _add_generate_options(demo)
    commands.add_parser("summary", help="print the warehouse's tables and row counts")
    args = parser.parse_args(argv)
    settings = Settings.from_env()

    if args.command == "generate":
        _generate(args, settings)
    elif args.command == "deliver-late":
        _deliver_late(settings)
    elif args.command == "summary":
        from datatrendz_pipelines.demo_run import print_summary

        print_summary(settings)
    elif args.command == "demo":
        from datatrendz_pipelines.demo_run import run_demo

        return run_demo(settings, lambda: _generate(args, settings))
    return 0


def console_main() -> NoReturn:
    """The `datatrendz` command: `main`, then an exit without the interpreter's teardown (2-3 s
    after a run, spent freeing what the run imported; see `batch_process`)."""
    try:
        code = main()
    except SystemExit as exit:
        code = exit_code(exit)
    exit_without_teardown(code)


if __name__ == "__main__":
    console_main()
