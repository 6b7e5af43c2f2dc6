"""``polyfit netplan PATH``: show a network plan bundle (from ``polyfit.torch.plan_network``), re-checked."""
from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser("netplan", help="show a network plan (per-site approximations under a depth budget)",
                       description="Read a network plan JSON written by NetworkPlan.save, validate it (every "
                                   "site's artifact re-checked, depths recounted) and print its sites, depth path "
                                   "and Pareto table. Needs the torch extra.")
    p.add_argument("path", metavar="PATH", help="network plan JSON")
    p.add_argument("--json", action="store_true", help="print a JSON summary instead of text")
    p.add_argument("--plot", metavar="PNG", help="also write the Pareto plot (total depth vs metric) here")
    p.set_defaults(run=run)


def run(args) -> int:
    import json
    import os
    import sys

    from ..atomic import output_target
    from ..errors import InputError

    if args.plot:
        target = output_target(args.plot, "--plot")  # before any work
        if os.path.exists(args.path) and os.path.realpath(args.path) == target:
            raise InputError(f"--plot {args.plot!r} is the plan being read; give another path for the PNG")
    from ..torch.planning import load_plan

    plan = load_plan(args.path)
    if args.json:
        print(json.dumps({"total_depth": plan.total_depth, "count_linear": plan.count_linear, "metric": plan.metric,
                          "baseline_metric": plan.baseline_metric, "depth_budget": plan.depth_budget,
                          "metric_target": plan.metric_target,
                          "sites": [{"name": s.name, "type": s.type, "candidate": s.candidate, "levels": s.levels,
                                     "range": list(s.range), "sensitivity": s.sensitivity} for s in plan.sites],
                          "path": [step.to_dict() for step in plan.depth.path], "pareto": plan.pareto()},
                         indent=2, allow_nan=False))
    else:
        print(plan.table())
        print()
        print(plan.depth.describe())
        print()
        print(plan.pareto_table())
        for note in plan.notes:
            print(f"note: {note}")
    if args.plot:  # with --json, stdout is the JSON document alone
        print(f"plot {plan.plot(args.plot)}", file=sys.stderr if args.json else sys.stdout)
    return 0
