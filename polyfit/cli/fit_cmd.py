"""``polyfit fit``: fit one polynomial (SPEC §5)."""
from __future__ import annotations

import contextlib
import sys
import warnings

from ..errors import InputError

from .common import (add_output_args, artifact_name, domain_from_args, domain_label, emit, finite_float, option_defaults,
                     planned_outputs, positive_int, target_label)


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


@contextlib.contextmanager
def warnings_to_stderr(command: str):
    """Python warnings raised inside become one line each on stderr, ``polyfit <command>: warning: …``
    (the report repeats them from the provenance; no source line, no duplicates)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for message in dict.fromkeys(" ".join(str(w.message).split()) for w in caught):
        print(f"polyfit {command}: warning: {message}", file=sys.stderr)


def input_scale(text: str):
    """argparse type: 'auto' or a number (finiteness and zero are the library's to check)."""
    return "auto" if text.strip().lower() == "auto" else finite_float(text)


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
    p.add_argument("--points", type=positive_int, metavar="N", help="grid points: more than the degree, at most 1,000,000 and points×(D+1) ≤ 5e7 (default 1000)")
    p.add_argument("--grid", choices=("uniform", "chebyshev", "continuous"), default="uniform",
                   help="fitting grid: uniform (numpy.linspace), chebyshev nodes, or continuous L2")
    p.add_argument("--basis", choices=("auto", "monomial", "chebyshev"), default="auto",
                   help="coefficient basis in the artifact: auto (default: monomial when the conversion keeps the "
                        "fit's error within 1%%, else chebyshev; the report says which and why), monomial "
                        "(warns when it loses accuracy) or chebyshev")
    p.add_argument("--input-scale", type=input_scale, metavar="S",
                   help="fit in t = S·x (quantized coefficients are in t), or 'auto' for t = x/max|domain|; "
                        "default: the raw variable (with --bits, a warning gives the measured error of 'auto' "
                        "when it is more than 2x smaller)")
    p.add_argument("--compat", choices=("pillar",), help="PILLAR's exact quantized formulation (needs --bits)")
    p.add_argument("--time-limit", type=finite_float, metavar="S",
                   help="seconds for the quantized search: --method minimax --bits F (default 10; a search cut short "
                        "returns its best polynomial with the gap to its proven lower bound) or --solver gekko")
    add_output_args(p)
    p.set_defaults(run=run, option_defaults=option_defaults(p))


def default_name(args, target) -> str:
    """``<target>-d<D>-r<A>[-b<F>]`` plus one token per other option changed from its default."""
    head = (f"{target_label(target)}-d{args.degree}-r{domain_label(domain_from_args(args))}"
            + (f"-b{args.bits}" if args.bits else ""))
    return artifact_name(head, args, in_head=("function", "expr", "degree", "range", "domain", "bits"))


def run(args) -> int:
    from ..fitting import fit

    target = resolve_target(args)
    paths = planned_outputs(args, default_name(args, target))
    domain = domain_from_args(args)
    options = {}
    if args.time_limit is not None:
        if args.bits is None:
            raise InputError(f"--time-limit {args.time_limit:g} bounds the quantized search: it needs --bits")
        options["time_limit"] = args.time_limit
    with warnings_to_stderr("fit"):
        approx = fit(target, args.degree, domain, bits=args.bits, method=args.method, solver=args.solver,
                     points=args.points, grid=args.grid, basis=args.basis, input_scale=args.input_scale,
                     compat=args.compat, **options)
    emit(approx, args, paths)
    return 0
