"""Helpers shared by the CLI commands: output flags and artifact emission."""
from __future__ import annotations

import argparse
import math
import sys



def positive_int(text: str) -> int:
    """argparse type: any integer. Ranges (degree 0..1000, bits 1..52, ...) are the library's
    to check, so that the one-line error names what is allowed."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid integer {text!r}") from None


def finite_float(text: str) -> float:
    """argparse type: any float, inf and nan included. Finiteness and ranges are the library's
    to check (``--range inf`` → "range inf must be a finite number > 0 ...")."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number {text!r}") from None
    return value


def add_output_args(parser: argparse.ArgumentParser, plot: bool = True) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--out", metavar="PATH", help="write the artifact JSON here (default: a name in the current folder)")
    group.add_argument("--json", action="store_true", help="print the artifact JSON to stdout and write no file")
    if plot:
        parser.add_argument("--plot", metavar="PNG", help="also save a plot (target, approximation, error) as PNG")


def check_output_paths(args, flags=("out", "plot")) -> None:
    """Fail before computing if the folder of an output flag does not exist (no half-written files)."""
    from ..atomic import existing_folder

    for attr in flags:
        path = getattr(args, attr, None)
        if path:
            existing_folder(path, label=f"--{attr}")


def format_number(value: float) -> str:
    """Short form for file names: 5 → '5', 0.5 → '0.5', 1e-3 → '0.001'."""
    return f"{value:g}".replace("+", "")


def emit(approx, args, default_name: str) -> None:
    """Print the report and write the artifact (or print JSON with --json); plot if asked."""
    from ..reports import format_report

    if getattr(args, "json", False):
        sys.stdout.write(approx.to_json())
    else:
        path = args.out or default_name
        print(format_report(approx))
        approx.save(path)
        print(f"artifact {path}")
    if getattr(args, "plot", None):
        from ..plot import save_plot

        save_plot(approx, args.plot)
        if not getattr(args, "json", False):
            print(f"plot     {args.plot}")


def domain_from_args(args):
    """--range A → A (meaning [-A, A]); --domain LO HI → (lo, hi)."""
    if args.domain is not None:
        return tuple(args.domain)
    return args.range


def domain_label(domain) -> str:
    if isinstance(domain, tuple):
        return f"{format_number(domain[0])}_{format_number(domain[1])}"
    return format_number(domain) if math.isfinite(domain) else str(domain)
