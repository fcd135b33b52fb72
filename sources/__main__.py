"""Command line of the sources package: `python -m sources refresh [--source NAME] [--series ID]`.

Prints a progress line per step and a summary table. Exit status: 0 when every series was refreshed, 2 when some
failed (their reasons are printed; their stored data is untouched), 1 when the configuration is unusable.
"""

from __future__ import annotations

import argparse
import sys

from sources.refresh import RefreshProgress, refresh
from sources.settings import ConfigError, load_settings

EXIT_OK, EXIT_CONFIG_ERROR, EXIT_SOME_FAILED, EXIT_INTERRUPTED = 0, 1, 2, 130


def print_progress(event: RefreshProgress) -> None:
    if event.message:
        print(f"[{event.series_done}/{event.series_total}] {event.message}", flush=True)


def main(argv: list[str] | None = None) -> int:
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
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
        report = refresh(settings, sources=args.source, series=args.series, progress=print_progress)
    except ConfigError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG_ERROR
    except KeyboardInterrupt:
        print("Interrupted; series not yet written keep their previous data.", file=sys.stderr)
        return EXIT_INTERRUPTED
    print()
    print(report.summary_table() if report.outcomes else "Nothing to refresh: no enabled sources or series.")
    return EXIT_OK if report.ok else EXIT_SOME_FAILED


if __name__ == "__main__":
    sys.exit(main())
