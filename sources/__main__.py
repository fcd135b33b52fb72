"""Command line of the sources package.

    python -m sources refresh [--due] [--source NAME] [--series ID]   fetch the configured series into the warehouse
    python -m sources worker [--once]                          refresh what is due on the [refresh] schedule
    python -m sources status                                   JSON: last vintage, last run, failed series, next run
    python -m sources check                                    check config.toml and the indicator catalogue
    python -m sources migrate                                  create or update the warehouse schema (PostgreSQL)
    python -m sources copy-warehouse SRC DST                   copy every series with its vintages to another store
    python -m sources vintages [--series ID] [--limit N]       list the latest vintages

`refresh` prints a progress line per step and a summary table; with `--due` it first asks each source cheaply what
it has published and fetches only what is due, ending with "checked N, due M, fetched K, requests R" (see
sources/refresh.py). Exit status: 0 when every series was refreshed,
2 when some failed (their reasons are printed; their stored data is untouched), 1 when the configuration or the
warehouse is unusable (unreachable database, outdated schema, read-only role), 3 when another refresh of the same
warehouse kept running beyond `refresh_lock_timeout_s`.
"""

from __future__ import annotations

import argparse
import json
import sys

from sources.refresh import RefreshProgress, refresh
from sources.settings import ConfigError, load_settings
from sources.warehouse import WarehouseBusy, WarehouseError, describe_location, open_warehouse

EXIT_OK, EXIT_CONFIG_ERROR, EXIT_SOME_FAILED, EXIT_BUSY, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


def print_progress(event: RefreshProgress) -> None:
    if event.message:
        print(f"[{event.series_done}/{event.series_total}] {event.message}", flush=True)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sources", description="Tiedolla data sources.")
    commands = parser.add_subparsers(dest="command", required=True)
    refresh_parser = commands.add_parser(
        "refresh", help="fetch the configured series and store them in the warehouse"
    )
    refresh_parser.add_argument(
        "--source", action="append", metavar="NAME", help="a configured source, e.g. statfin (repeatable)"
    )
    refresh_parser.add_argument(
        "--series", action="append", metavar="ID", help="a series id, e.g. statfin.unemployed (repeatable)"
    )
    refresh_parser.add_argument(
        "--due", action="store_true", help="fetch only what the sources have published since the last fetch"
    )
    worker_parser = commands.add_parser("worker", help="refresh what is due on the schedule of [refresh] in config")
    worker_parser.add_argument("--once", action="store_true", help="one due refresh, then exit")
    worker_parser.add_argument("--auto-enabled", action="store_true",
                               help="only tell by the exit status whether [refresh] auto is on (0) or off (1)")
    commands.add_parser("status", help="print JSON: last vintage, last run, failed series, next run")
    commands.add_parser("check", help="check config.toml and the indicator catalogue; list every problem (exit 1)")
    commands.add_parser("migrate", help="create or update the warehouse schema, then fill it from the snapshot")
    copy_parser = commands.add_parser(
        "copy-warehouse", help="copy every series and document with its vintages from SRC to DST")
    copy_parser.add_argument("source", metavar="SRC", help="a folder, file:// or postgresql:// URL")
    copy_parser.add_argument("target", metavar="DST", help="an empty warehouse: a folder or postgresql:// URL")
    vintages_parser = commands.add_parser("vintages", help="list the latest vintages of the warehouse")
    vintages_parser.add_argument("--series", metavar="ID", help="only this series")
    vintages_parser.add_argument("--limit", type=int, default=20, metavar="N", help="how many (default 20)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "check":
            return _check()
        if args.command == "copy-warehouse":
            return _copy(args.source, args.target)
        settings = load_settings()
        if args.command == "migrate":
            return _migrate(settings)
        if args.command == "vintages":
            return _list_vintages(settings, args.series, args.limit)
        if args.command == "status":
            return _status(settings)
        if args.command == "worker":
            if args.auto_enabled:
                return EXIT_OK if settings.refresh.auto else EXIT_CONFIG_ERROR
            from sources.worker import run_worker

            return run_worker(settings, once=args.once)
        report = refresh(settings, sources=args.source, series=args.series, progress=print_progress, due=args.due)
    except ConfigError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG_ERROR
    except WarehouseBusy as exc:
        print(f"Warehouse busy: {exc}", file=sys.stderr)
        return EXIT_BUSY
    except WarehouseError as exc:
        print(f"Warehouse error: {exc}", file=sys.stderr)
        return EXIT_CONFIG_ERROR
    except KeyboardInterrupt:
        print("Interrupted; series not yet written keep their previous data.", file=sys.stderr)
        return EXIT_INTERRUPTED
    print()
    print(report.summary_table() if report.outcomes else "Nothing to refresh: no enabled sources or series.")
    if args.due and not report.outcomes:
        print(report.counts_line())
    return EXIT_OK if report.ok else EXIT_SOME_FAILED


def _check() -> int:
    """Every problem of config.toml and the catalogue at once: misspelt keys, values outside their choices,
    series no source offers, texts missing in a language."""
    from indicators.catalogue import check_catalogue_files
    from indicators.checks import catalogue_problems
    from sources.registry import declared_series
    from sources.settings import check_configuration, config_file

    settings, problems = check_configuration()
    catalogue, catalogue_errors = check_catalogue_files()
    problems += catalogue_errors
    if catalogue is not None and settings is not None and not problems:  # references need both to be sound
        problems += [str(problem) for problem in catalogue_problems(catalogue, declared_series(settings))]
    if problems:
        print(f"{len(problems)} problem{'s' if len(problems) > 1 else ''} in {config_file()} and the catalogue:")
        for problem in problems:
            print(f"- {problem}")
        return EXIT_CONFIG_ERROR
    series = sum(len(source.series) for source in settings.sources.values())
    print(f"OK: {config_file()} ({len(settings.sources)} sources, {series} series) and the catalogue "
          f"({len(catalogue.indicators)} indicators in {len(catalogue.themes)} themes).")
    return EXIT_OK


def _status(settings) -> int:
    from sources.status import status_report

    with open_warehouse(settings.warehouse_location) as warehouse:
        warehouse.check_schema()
        print(json.dumps(status_report(warehouse), ensure_ascii=False, indent=2))
    return EXIT_OK


def _migrate(settings) -> int:
    from sources.snapshot import seed_warehouse

    with open_warehouse(settings.warehouse_location) as warehouse:
        applied = warehouse.migrate()
        where = describe_location(settings.warehouse_location)
        print(f"Applied {len(applied)} migrations to {where}: {', '.join(applied)}." if applied
              else f"The schema of {where} is up to date.")
        copied = seed_warehouse(settings, warehouse)
        if copied:
            print(f"Filled {len(copied)} series from the bundled snapshot.")
    return EXIT_OK


def _copy(source: str, target: str) -> int:
    from sources.copying import copy_warehouse

    with open_warehouse(source) as origin, open_warehouse(target) as destination:
        destination.migrate()
        counts = copy_warehouse(origin, destination, progress=lambda line: print(line, flush=True))
    print(f"Copied {counts['series']} series, {counts['vintages']} vintages and {counts['documents']} documents "
          f"from {describe_location(source)} to {describe_location(target)}.")
    return EXIT_OK


def _list_vintages(settings, series: str | None, limit: int) -> int:
    with open_warehouse(settings.warehouse_location) as warehouse:
        for vintage in warehouse.vintages(series, limit=limit):
            print(f"{vintage.id:>6}  {vintage.created_at}  {vintage.series:<45} "
                  f"publisher {vintage.data_updated or '-':<12} new {vintage.new:>6}  changed {vintage.changed:>6}  "
                  f"withdrawn {vintage.withdrawn:>6}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
