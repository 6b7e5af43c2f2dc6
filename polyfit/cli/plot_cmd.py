"""``polyfit plot PATH --out PNG``."""
from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser("plot", help="plot an artifact: target vs approximation, error on a log scale",
                       description="Plot an artifact JSON to a PNG file.")
    p.add_argument("path", metavar="PATH", help="artifact JSON")
    p.add_argument("--out", required=True, metavar="PNG", help="output PNG file")
    p.set_defaults(run=run)


def run(args) -> int:
    from ..artifact import load
    from ..plot import save_plot
    from .common import check_output_paths

    check_output_paths(args)
    approx = load(args.path)
    save_plot(approx, args.out)
    print(f"plot {args.out}")
    return 0
