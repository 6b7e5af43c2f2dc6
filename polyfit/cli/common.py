"""Helpers shared by the CLI commands: output flags, default names and artifact emission.

Output files follow :mod:`polyfit.atomic`: every path is checked before the command computes
anything (:func:`planned_outputs`), and all files are written together at the end
(:func:`write_outputs`), so a bad ``--plot`` never leaves a written artifact behind.
"""
from __future__ import annotations

import argparse
import math
import sys
from types import MappingProxyType

from ..errors import InputError
from ..validate import integer_text, number_text


def argument_type(check):
    """An argparse ``type`` that calls the library's validator ``check`` (:mod:`polyfit.validate`)
    on the text: its one-line InputError becomes argparse's error, naming the flag."""
    def parse(text: str):
        try:
            return check(text)
        except InputError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    parse.__name__ = check.__name__
    return parse


#: argparse type: any integer (:func:`polyfit.validate.integer_text`). Ranges (degree 0..1000,
#: bits 1..52, ...) are the library's to check, so that the one-line error names what is allowed.
positive_int = argument_type(integer_text)
#: argparse type: any float, inf and nan included (:func:`polyfit.validate.number_text`).
#: Finiteness and ranges are the library's to check (``--range inf`` → "range inf must be a
#: finite number > 0 ...").
finite_float = argument_type(number_text)


def add_output_args(parser: argparse.ArgumentParser, plot: bool = True) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--out", metavar="PATH", help="write the artifact JSON here (default: a name in the current "
                       "folder that encodes every option which changes the fit, see docs/cli.md)")
    group.add_argument("--json", action="store_true", help="print the artifact JSON to stdout and write no file")
    if plot:
        parser.add_argument("--plot", metavar="PNG", help="also save a plot (target, approximation, error) as PNG")


# -- output files: checked before computing, written together at the end ----------------
def planned_outputs(args, default_name: str | None, flags=("out", "plot")) -> dict:
    """The files a command will write, ``{flag: path}``, each checked now, before any work.

    ``out`` falls back to ``default_name`` unless ``--json``; a ``default_name`` of None
    (known only after computing, as in search) checks that the current folder is writable.
    Two flags naming the same file are refused.
    """
    from ..atomic import check_folder, output_target

    paths, real = {}, {}
    for flag in flags:
        path = getattr(args, flag, None)
        if flag == "out" and not path and not getattr(args, "json", False):
            if default_name is None:
                check_folder(".", "the current folder (for the default artifact name)")
                continue
            path = default_name
        if not path:
            continue
        target = output_target(path, f"--{flag}")
        for other, other_target in real.items():
            if other_target == target:
                raise InputError(f"--{other} and --{flag} name the same file {path!r}; give two different paths")
        paths[flag], real[flag] = path, target
    return paths


def artifact_outputs(approx, paths: dict) -> list:
    """``(path, bytes, label)`` of the artifact (``out``) and its plot (``plot``), rendered in memory."""
    items = []
    if "out" in paths:
        items.append((paths["out"], approx.to_json().encode("utf-8"), "--out"))
    if "plot" in paths:
        items.append((paths["plot"], plot_png(approx), "--plot"))
    return items


def plot_png(approx) -> bytes:
    """PNG bytes of the approximation's figure; a quantized stage is drawn beside its
    unquantized least-squares fit (:func:`polyfit.fitting.float_reference`)."""
    from .. import plot
    from ..atomic import figure_png
    from ..fitting import float_reference

    reference = float_reference(approx)
    return figure_png(lambda: plot.plot_approximation(approx, reference=reference))


_SHOWN = {"--out": "artifact", "--plot": "plot", "--history": "history"}


def write_outputs(items, stream=None) -> None:
    """Write every ``(path, bytes, label)`` atomically and together, then print what went where."""
    from ..atomic import write_files

    if not items:
        return
    write_files(items)
    for path, _, label in items:
        print(f"{_SHOWN.get(label, label.lstrip('-')):<8} {path}", file=stream or sys.stdout)


def emit(approx, args, paths: dict) -> None:
    """Print the report (or the artifact JSON with --json), then write the planned outputs."""
    from ..report_text import format_report

    if getattr(args, "json", False):
        sys.stdout.write(approx.to_json())
    else:
        print(format_report(approx))
    write_outputs(artifact_outputs(approx, paths), sys.stderr if getattr(args, "json", False) else sys.stdout)


# -- default artifact names ----------------------------------------------------------------
NOT_IN_NAMES = frozenset({"out", "json", "plot", "history", "quiet", "command", "run", "option_defaults"})
NAME_TOKENS = MappingProxyType({"method": "{}", "basis": "{}", "solver": "{}", "compat": "{}", "order": "{}",
                               "grid": "grid-{}", "points": "n{}", "input_scale": "s{}", "epsilon": "eps{}", "max_depth": "L{}", "max_degree": "maxd{}",
                               "time_limit": "t{}s"})


def option_defaults(parser: argparse.ArgumentParser) -> dict:
    """``{dest: default}`` of a command's options, in the order they were added (for names)."""
    return {a.dest: a.default for a in parser._actions if a.option_strings and a.dest not in NOT_IN_NAMES | {"help"}}


def target_label(target) -> str:
    """A named function's name; ``expr-<first 8 hex of sha256(expression text)>`` for --expr."""
    import hashlib

    if target.expr is not None and target.name == "expr":
        return "expr-" + hashlib.sha256(target.expr.encode("utf-8")).hexdigest()[:8]
    return safe_name(target.name)


def artifact_name(head: str, args, in_head=()) -> str:
    """``<head>[-<token>...].json``: one token per option (not in ``in_head``) whose value
    differs from its default, so that fits which differ never share a default name."""
    tokens = [head]
    for dest, default in (getattr(args, "option_defaults", None) or {}).items():
        value = getattr(args, dest, default)
        if dest in in_head or value == default or value is None:
            continue
        if value is True:
            text = dest.replace("_", "-")
        else:
            text = NAME_TOKENS.get(dest, dest.replace("_", "-") + "-{}").format(_value_text(value))
        tokens.append(text)
    return "-".join(tokens) + ".json"


def _value_text(value) -> str:
    if isinstance(value, (list, tuple)):
        return ",".join(_value_text(v) for v in value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return format_number(value)
    return safe_name(str(value))


def safe_name(text: str) -> str:
    """``text`` with every character but letters, digits and ``._+,`` replaced by ``_``."""
    return "".join(c if c.isalnum() or c in "._+," else "_" for c in text) or "_"


def format_number(value: float) -> str:
    """Exact short form for file names: 5 → '5', 0.5 → '0.5', 1e-20 → '1e-20' (shortest repr,
    so that two different numbers never give the same text)."""
    v = float(value)
    if v.is_integer() and abs(v) < 1e16:
        return str(int(v))
    return repr(v).replace("e+", "e")


def domain_from_args(args):
    """--range A → A (meaning [-A, A]); --domain LO HI → (lo, hi)."""
    if args.domain is not None:
        return tuple(args.domain)
    return args.range


def domain_label(domain) -> str:
    if isinstance(domain, tuple):
        return f"{format_number(domain[0])}_{format_number(domain[1])}"
    return format_number(domain) if math.isfinite(domain) else str(domain)
