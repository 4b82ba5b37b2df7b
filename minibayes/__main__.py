"""Command line: ``python -m minibayes info``."""

from __future__ import annotations

import argparse
import platform
import sys

from . import __version__, backend


def info() -> str:
    """Version, active backend, default dtype and the devices minibayes can use."""
    lines = [
        f"minibayes {__version__} (Python {platform.python_version()}, {platform.machine()})",
        f"backend: {backend.get_backend()}",
        f"default dtype: {backend.get_default_dtype()}",
        "devices:",
        *(f"  {line}" for line in backend.device_info()),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m minibayes", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    info_parser = commands.add_parser("info", help="print version, backend, dtype and devices")
    info_parser.add_argument("--backend", choices=backend.BACKENDS, help="report as if this backend were active")
    args = parser.parse_args(argv)
    if args.command == "info":
        if args.backend:
            try:
                backend.set_backend(args.backend)
            except backend.BackendError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 2
        print(info())
    return 0


if __name__ == "__main__":
    sys.exit(main())
