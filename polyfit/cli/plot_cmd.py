"""``polyfit plot PATH --out PNG``."""
from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser("plot", help="plot an artifact: target vs approximation, error on a log scale",
                       description="Plot an artifact JSON to a PNG file.")
    p.add_argument("path", metavar="PATH", help="artifact JSON")
    p.add_argument("--out", required=True, metavar="PNG", help="output PNG file")
    p.set_defaults(run=run)


def run(args) -> int:
    import os

    from ..artifact import load
    from ..errors import InputError
    from .common import planned_outputs, plot_png, write_outputs

    paths = planned_outputs(args, None, flags=("out",))
    if os.path.exists(args.path) and os.path.realpath(args.out) == os.path.realpath(args.path):
        raise InputError(f"--out {args.out!r} is the artifact being plotted; give another path for the PNG")
    approx = load(args.path)
    write_outputs([(paths["out"], plot_png(approx), "--plot")])
    return 0
