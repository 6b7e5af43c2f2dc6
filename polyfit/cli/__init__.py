"""``polyfit <command>``: a thin front end; every command is one call into the library.

Exit codes: 0 success; 2 bad input (one line on stderr naming the bad value and what is
allowed; nothing written); 1 the computation failed; 130 interrupted (SIGINT), 143
terminated (SIGTERM): both unwind, so no temp file is left.

Each command lives in its own module with ``add_parser(subparsers)`` and ``run(args)``;
modules import only argparse at top level so that ``polyfit fit`` stays fast.
"""
from __future__ import annotations

import argparse
import importlib
import os
import re
import signal
import sys
import threading

from .._version import __version__
from ..errors import ComputationError, InputError

COMMANDS = ("fit", "taylor", "composite", "verify", "export", "search", "report", "plot", "netplan")


class OneLineParser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line on stderr, exit code 2, and reads
    negative numbers in any float syntax as values (argparse's own rule, ``-1`` and ``-.5``
    only, took ``--domain -1e-3 5`` for an option and said "expected 2 arguments")."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = re.compile(r"^-(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")

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


class Terminated(BaseException):
    """SIGTERM during a command: unwinds like Ctrl-C so temp files are removed (exit 143)."""


def _terminate(signum, frame):
    raise Terminated()


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    installed = threading.current_thread() is threading.main_thread()
    if installed:
        previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        return int(args.run(args) or 0)
    except Terminated:
        print(f"polyfit {args.command}: terminated", file=sys.stderr)
        return 143
    except InputError as exc:
        print(f"polyfit {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except ComputationError as exc:
        print(f"polyfit {args.command}: failed: {_one_line(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"polyfit {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return _reader_went_away()
    finally:
        if installed:
            signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


def _reader_went_away() -> int:
    """The reader of stdout or stderr closed its end (``polyfit report a.json | head -1``).

    Quiet, as a Unix filter killed by SIGPIPE: both streams are pointed at /dev/null so the
    interpreter's final flush cannot raise again, and the exit status is 128 + SIGPIPE (141).
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    for stream in (sys.stdout, sys.stderr):
        try:
            os.dup2(devnull, stream.fileno())
        except (OSError, ValueError):  # a replaced stream without a descriptor: nothing to redirect
            pass
    os.close(devnull)
    return 128 + 13


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
