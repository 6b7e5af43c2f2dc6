"""``polyfit search``: Bayesian optimisation of degree and range (one call to pf.search)."""
from __future__ import annotations

from ..validate import integer_list
from .common import finite_float, positive_int
from .fit_cmd import add_target_args


def add_parser(sub) -> None:
    p = sub.add_parser(
        "search", help="Bayesian optimisation of degree and fit range (Sisyphus)",
        description="Search polynomial degree × fit range [-a, a] with BoTorch (GP + LogEI), then refine the range of "
                    "the best degrees by golden section, scoring each fit by an objective. Evaluations are numbered by "
                    "their 0-based index in the history (as best_index). Example: polyfit search --degrees 2-9 --range-bounds 0.5 50 "
                    "--objective gaussian:sigma=2 --budget 50 --seed 0")
    add_target_args(p)
    p.add_argument("--degrees", default="2-9", metavar="SPEC", help="LO-HI (e.g. 2-9) or a list (e.g. 3,7,15,31); default 2-9")
    p.add_argument("--range-bounds", type=finite_float, nargs=2, default=(0.5, 50.0), metavar=("LO", "HI"),
                   help="bounds of the range a (fit on [-a, a]), searched on a log scale; default 0.5 50")
    p.add_argument("--objective", default="gaussian:sigma=2", metavar="SPEC",
                   help="expected error under inputs: gaussian:sigma=S[,mean=M], uniform:a=A, uniform:lo=L,hi=H, "
                        "samples:path=FILE (.npy or text); options error=mse|mae, depth_penalty=λ (default gaussian:sigma=2)")
    p.add_argument("--max-depth", type=positive_int, metavar="L", help="only degrees with at most L CKKS levels")
    p.add_argument("--bits", metavar="F[,F...]", help="also search fractional bits of quantized coefficients, e.g. 8,10,12")
    p.add_argument("--methods", default="lstsq", metavar="M[,M]", help="fitting methods to search: lstsq, minimax (default lstsq)")
    p.add_argument("--budget", type=positive_int, default=50, metavar="N", help="evaluations in total (default 50)")
    p.add_argument("--initial", type=positive_int, metavar="N", help="Sobol points before the first model (default max(2·dims, min(10, budget/5)))")
    p.add_argument("--refine", type=positive_int, metavar="N",
                   help="evaluations reserved for the golden-section refinement of the range in the best cells "
                        "(default budget/3; 0 disables)")
    p.add_argument("--batch", type=positive_int, default=1, metavar="Q", help="points proposed per round (default 1)")
    p.add_argument("--workers", type=positive_int, default=1, metavar="W",
                   help="evaluate a batch on W processes, 1 to 256 (default 1: in process)")
    p.add_argument("--seed", type=positive_int, default=0, metavar="S", help="random seed, 0 to 2^32-1 (default 0)")
    p.add_argument("--strategy", choices=("bo", "random"), default="bo", help="bo (default) or random search (baseline)")
    p.add_argument("--pareto", action="store_true", help="multi-objective: error vs CKKS levels (qLogNEHVI)")
    p.add_argument("--keep-twins", action="store_true",
                   help="also evaluate degrees that fit the same polynomial as a lower degree (by the target's parity)")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--out", metavar="PATH", help="write the best approximation's artifact here (default: a name in the current folder)")
    out.add_argument("--json", action="store_true", help="print the best artifact JSON to stdout and write no artifact file")
    p.add_argument("--history", metavar="PATH", help="write every evaluated point (degree, range, score, time) as JSON")
    p.add_argument("--plot", metavar="PNG", help="save a plot: score per evaluation, degree × range surface, Pareto front")
    p.add_argument("--quiet", action="store_true", help="no progress bar on stderr")
    p.set_defaults(run=run)


def run(args) -> int:
    import sys
    from types import SimpleNamespace

    from .common import planned_outputs, write_outputs
    from .fit_cmd import resolve_target

    target = resolve_target(args)
    paths = planned_outputs(args, None, flags=("out", "plot", "history"))
    refuse_overwriting_samples(paths, args.objective)
    bits = integer_list(args.bits, "--bits", "8,10,12") if args.bits else None
    methods = tuple(m.strip() for m in args.methods.split(",") if m.strip())
    from ..solvers.search import search

    result = search(target, degrees=args.degrees, range_bounds=tuple(args.range_bounds), objective=args.objective,
                    bits=bits, methods=methods, max_depth=args.max_depth, budget=args.budget, n_initial=args.initial,
                    refine=args.refine, batch_size=args.batch, workers=args.workers, seed=args.seed,
                    pareto=args.pareto, strategy=args.strategy, twins=not args.keep_twins, progress=not args.quiet)
    report = sys.stderr if args.json else sys.stdout
    print(result.summary(), file=report)
    best = result.best
    if best is None:
        from ..errors import ComputationError

        raise ComputationError(f"none of the {len(result.evaluations)} evaluated points succeeded; nothing written")
    if args.json:
        sys.stdout.write(best.to_json())
    else:
        from ..report_text import format_report

        print(format_report(best))
    if not args.json and not args.out:  # the default name is known only now: check it with the others
        named = SimpleNamespace(out=default_name(target, result.best_evaluation), plot=args.plot, history=args.history)
        paths = planned_outputs(named, None, flags=("out", "plot", "history"))
        refuse_overwriting_samples(paths, args.objective)
    items = [(paths["out"], best.to_json().encode("utf-8"), "--out")] if "out" in paths else []
    if "history" in paths:
        items.append((paths["history"], result.to_json().encode("utf-8"), "--history"))
    if "plot" in paths:
        from ..atomic import figure_png

        items.append((paths["plot"], figure_png(result.plot), "--plot"))
    write_outputs(items, report)
    return 0


def refuse_overwriting_samples(paths: dict, objective) -> None:
    """An output naming the ``samples:path=FILE`` objective's file would replace the search's
    own input (``--out s.npy`` wrote the artifact JSON over the samples)."""
    import os

    from ..errors import InputError

    if not isinstance(objective, str) or objective.strip().partition(":")[0].strip().lower() != "samples":
        return
    for item in objective.partition(":")[2].split(","):
        key, _, value = item.partition("=")
        if key.strip().lower() == "path" and value.strip() and os.path.exists(value.strip()):
            source = os.path.realpath(value.strip())
            for flag, path in paths.items():
                if os.path.realpath(path) == source:
                    raise InputError(f"--{flag} {path!r} is the objective's samples file; give another path")


def default_name(target, best) -> str:
    """``<target>-search-d<D>-r<A>[-b<F>][-<method>]`` of the best point (range in full)."""
    from .common import format_number, target_label

    return (f"{target_label(target)}-search-d{best.degree}-r{format_number(best.range)}"
            + (f"-b{best.bits}" if best.bits else "") + (f"-{best.method}" if best.method != "lstsq" else "") + ".json")
