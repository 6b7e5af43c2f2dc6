"""``polyfit taylor``: Taylor polynomial about a center (SymPy series)."""
from __future__ import annotations

from .common import (add_output_args, artifact_name, domain_from_args, domain_label, emit, finite_float, format_number,
                     option_defaults, planned_outputs, positive_int, target_label)
from .fit_cmd import add_domain_args, add_target_args


def add_parser(sub) -> None:
    p = sub.add_parser("taylor", help="Taylor polynomial about a center (symmetric at kinks)",
                       description="Taylor polynomial of a function about a center. At a kink (ReLU at 0) "
                                   "the one-sided series are averaged: ReLU gives 0.5·x.")
    add_target_args(p)
    p.add_argument("--degree", type=positive_int, required=True, metavar="D", help="degree (0..400)")
    p.add_argument("--center", type=finite_float, default=0.0, metavar="C", help="expansion point (default 0)")
    add_domain_args(p, required=False, verb="measure errors on", default_note=" (default [C-1, C+1])")
    add_output_args(p)
    p.set_defaults(run=run, option_defaults=option_defaults(p))


def run(args) -> int:
    from ..solvers.taylor import taylor
    from .fit_cmd import resolve_target

    target = resolve_target(args)
    domain = domain_from_args(args)
    where = f"-r{domain_label(domain)}" if domain is not None else ""
    head = f"{target_label(target)}-taylor-d{args.degree}-c{format_number(args.center)}{where}"
    paths = planned_outputs(args, artifact_name(head, args, in_head=("function", "expr", "degree", "center", "range", "domain")))
    approx = taylor(target, args.degree, center=args.center, domain=domain)
    emit(approx, args, paths)
    return 0
