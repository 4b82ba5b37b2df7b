"""Command line: ``python -m minibayes info`` and ``python -m minibayes demo NAME [demo options]``."""

from __future__ import annotations

import argparse
import importlib
import platform
import sys
from pathlib import Path

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


# The demos live next to the package in a source checkout (``pip install -e .``), not inside it.
DEMOS = Path(__file__).resolve().parents[1] / "demos"


def available_demos() -> list[str]:
    return sorted(path.stem for path in DEMOS.glob("*.py") if not path.stem.startswith("_"))


def run_demo(name: str, demo_args: list[str]) -> int:
    """Import ``demos/NAME.py`` and call its ``main(argv)`` with the remaining arguments."""
    names = available_demos()
    if name not in names:
        where = f"in {DEMOS}" if DEMOS.is_dir() else f"(no demos/ folder next to the package at {DEMOS}: use a source checkout)"
        print(f"error: no demo named {name!r} {where}; available: {', '.join(names) or 'none'}", file=sys.stderr)
        return 2
    sys.path.insert(0, str(DEMOS.parent))
    importlib.import_module(f"demos.{name}").main(demo_args)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m minibayes", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    info_parser = commands.add_parser("info", help="print version, backend, dtype and devices")
    info_parser.add_argument("--backend", choices=backend.BACKENDS, help="report as if this backend were active")
    demo_parser = commands.add_parser(
        "demo", help="run demos/NAME.py (e.g. distributions, mlp_fashion_mnist); options after NAME go to the demo"
    )
    demo_parser.add_argument("name", help=f"one of: {', '.join(available_demos())}")
    demo_parser.add_argument("demo_args", nargs=argparse.REMAINDER, help="e.g. --quick --backend cupy --out DIR")
    args = parser.parse_args(argv)
    if args.command == "demo":
        return run_demo(args.name, args.demo_args)
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
