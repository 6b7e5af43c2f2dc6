"""``polyfit fit``: fit one polynomial (SPEC §5)."""
from __future__ import annotations

from .common import add_output_args, check_output_paths, domain_from_args, domain_label, emit, finite_float, positive_int


def add_target_args(parser) -> None:
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--function", default="relu", metavar="NAME",
                       help="relu, sign, abs, step, sigmoid, tanh, gelu, silu, softplus, exp (default relu)")
    which.add_argument("--expr", metavar="E", help="expression in x, e.g. 'x*tanh(x)': numbers, x, pi, E, + - * / **, exp, log, sqrt, "
                            "trig/hyperbolic, erf, Abs, sign, Heaviside, Max, Min, Piecewise (read as data by a "
                            "whitelist, never executed; see docs/cli.md)")


def add_domain_args(parser, required: bool = True, verb: str = "fit on", default_note: str = "") -> None:
    where = parser.add_mutually_exclusive_group(required=required)
    where.add_argument("--range", type=finite_float, metavar="A", help=f"{verb} [-A, A]")
    where.add_argument("--domain", type=finite_float, nargs=2, metavar=("LO", "HI"), help=f"{verb} [LO, HI]{default_note}")


def resolve_target(args):
    from ..targets import get_target, parse_expr

    return parse_expr(args.expr) if args.expr is not None else get_target(args.function)


def add_parser(sub) -> None:
    p = sub.add_parser("fit", help="fit a polynomial (least squares, minimax, quantization-aware)",
                       description="Fit a polynomial to a function on an interval. "
                                   "Example: polyfit fit --degree 4 --range 5 --bits 10")
    add_target_args(p)
    p.add_argument("--degree", type=positive_int, required=True, metavar="D", help="polynomial degree (0..1000)")
    add_domain_args(p)
    p.add_argument("--bits", type=positive_int, metavar="F", help="integer coefficients × 2^-F, chosen by the solver (1..52)")
    p.add_argument("--method", choices=("lstsq", "minimax"), default="lstsq", help="L2 (default) or L∞")
    p.add_argument("--solver", choices=("exact", "gekko"), default="exact",
                   help="quantized solver: exact (default, certified optimum) or gekko (PILLAR's MINLP)")
    p.add_argument("--points", type=positive_int, metavar="N", help="grid points (> degree; default 1000)")
    p.add_argument("--grid", choices=("uniform", "chebyshev", "continuous"), default="uniform",
                   help="fitting grid: uniform (numpy.linspace), chebyshev nodes, or continuous L2")
    p.add_argument("--basis", choices=("monomial", "chebyshev"), default="monomial", help="coefficient basis in the artifact")
    p.add_argument("--input-scale", type=finite_float, default=1.0, metavar="S",
                   help="fit in t = S·x (quantized coefficients are in t); e.g. 0.125 for [-8, 8]")
    p.add_argument("--compat", choices=("pillar",), help="PILLAR's exact quantized formulation (needs --bits)")
    add_output_args(p)
    p.set_defaults(run=run)


def run(args) -> int:
    from ..fitting import fit

    check_output_paths(args)
    target = resolve_target(args)
    domain = domain_from_args(args)
    approx = fit(target, args.degree, domain, bits=args.bits, method=args.method, solver=args.solver,
                 points=args.points, grid=args.grid, basis=args.basis, input_scale=args.input_scale,
                 compat=args.compat)
    name = f"{target.name}-d{args.degree}-r{domain_label(domain)}" + (f"-b{args.bits}" if args.bits else "") + ".json"
    emit(approx, args, name)
    return 0
