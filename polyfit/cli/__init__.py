"""``polyfit <command>``: a thin front end; every command is one call into the library.

Exit codes: 0 success; 2 bad input (one line on stderr naming the bad value and what is
allowed; nothing written); 1 the computation failed.

Each command lives in its own module with ``add_parser(subparsers)`` and ``run(args)``;
modules import only argparse at top level so that ``polyfit fit`` stays fast.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from .._version import __version__
from ..errors import ComputationError, InputError

COMMANDS = ("fit", "taylor", "composite", "verify", "export", "search", "report", "plot")


class OneLineParser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line on stderr, exit code 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="polyfit", description="Polynomial approximations for HE and MPC.")
    parser.add_argument("--version", action="version", version=f"polyfit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    sub.required = True
    for name in COMMANDS:
        importlib.import_module(f"polyfit.cli.{name}_cmd").add_parser(sub)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except InputError as exc:
        print(f"polyfit {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except ComputationError as exc:
        print(f"polyfit {args.command}: failed: {_one_line(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"polyfit {args.command}: interrupted", file=sys.stderr)
        return 130


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
