"""``polyfit composite``: composite minimax sign / ReLU / |x| / step (issue 3).

One call to :func:`polyfit.solvers.composite.composite`, then the common report plus the
composite's own stage table (:func:`polyfit.solvers.composite.stage_table`: the solver reads
its provenance, the CLI does not).
"""
from __future__ import annotations

from ..validate import check_degrees
from .common import (add_output_args, argument_type, artifact_name, emit, finite_float, format_number, option_defaults,
                     planned_outputs, positive_int, safe_name)


def add_parser(sub) -> None:
    p = sub.add_parser(
        "composite", help="composite minimax sign / ReLU / |x| / step (Lee et al.)",
        description="Composite of odd minimax polynomials approximating sign (and ReLU = x(1+s)/2, "
                    "|x| = x·s, step = (1+s)/2) on [-B, B]. Examples: polyfit composite --alpha 10 "
                    "--function relu; polyfit composite --degrees 7,7,13; polyfit composite --preset 2f12g1")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--alpha", type=finite_float, metavar="A",
                       help="bits of precision (1..40): least-depth composite with error <= 2^-A")
    which.add_argument("--degrees", type=argument_type(check_degrees), metavar="D1,D2,...", help="odd stage degrees, stage 0 first")
    which.add_argument("--preset", metavar="NAME",
                       help="published composite: f1..f4, g1..g4, f1g2, f2g2, f2g3, 2f12g1 (g first), "
                            "the same with -smartpaf (f first), lee-a7, lee-a10")
    p.add_argument("--epsilon", type=finite_float, metavar="E",
                   help="gap half-width as a fraction of B (2^-40 <= E < 1); sign default 2^-A")
    p.add_argument("--function", choices=("sign", "relu", "abs", "step"), default="sign", help="default sign")
    p.add_argument("--range", type=finite_float, default=1.0, metavar="B", help="inputs in [-B, B] (default 1)")
    p.add_argument("--max-depth", type=positive_int, metavar="L", help="most CKKS levels in total, combine included (1..64)")
    p.add_argument("--order", choices=("depth", "multiplications"), default="depth",
                   help="minimise depth then products (default), or products then depth under --max-depth")
    p.add_argument("--max-degree", type=positive_int, default=31, metavar="D",
                   help="largest stage degree the search considers (3..63, default 31)")
    add_output_args(p)
    p.set_defaults(run=run, option_defaults=option_defaults(p))


def default_name(args) -> str:
    if args.preset is not None:
        what = f"p{safe_name(args.preset.strip().lower())}"
    elif args.degrees is not None:
        what = "d" + "-".join(str(d) for d in args.degrees)
    else:
        what = f"a{format_number(args.alpha)}"
    suffix = f"-r{format_number(args.range)}" if args.range != 1.0 else ""
    return artifact_name(f"{args.function}-composite-{what}{suffix}", args,
                         in_head=("preset", "degrees", "alpha", "function", "range"))


def run(args) -> int:
    from ..solvers.composite import composite, stage_table

    paths = planned_outputs(args, default_name(args))
    approx = composite(alpha=args.alpha, epsilon=args.epsilon, degrees=args.degrees, preset=args.preset,
                       function=args.function, domain=args.range, max_depth=args.max_depth, order=args.order,
                       max_degree=args.max_degree)
    emit(approx, args, paths)
    if not args.json:
        print(stage_table(approx))
    return 0
