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
    _require_true_error(approx, args.path)
    write_outputs([(paths["out"], plot_png(approx), "--plot")])
    return 0


def _require_true_error(approx, path) -> None:
    """The title prints the stored max |error|: re-measure it (stored grid and exclude, as
    ``polyfit report`` does) and refuse, exit 1, when the file's number is false."""
    from ..errors import ComputationError
    from ..recheck import recheck

    if not approx.metrics:
        return
    metrics_only = approx.replace(depth={}, precision={})
    bad = [line for line in recheck(metrics_only)["lines"] if "MISMATCH" in line]
    if bad:
        raise ComputationError(f"{path!r}: the stored metrics are false ({bad[0].split('MISMATCH ', 1)[1]}); "
                               "nothing plotted (polyfit report shows every mismatch)")
