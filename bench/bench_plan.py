"""Network plans vs the best uniform choice on digits: accuracy and depth ratios, planning time.

Runs the comparison of ``examples/torch_network_plan.py`` (a 7-site residual CNN trained on
digits, 60/20/20 split) for several seeds (split, initialisation and planning seed) and both
architectures — without BatchNorm (activation ranges grow from ±2 to ±100 along the network)
and with it (every site sees a similar range) — and prints, per run and on average, ratios
measured in the same run:

- accuracy ratio: plan / best uniform choice at the best uniform's total depth
  (validation = what is maximised, test = held out; goal ≥ 1);
- depth ratio: plan / best uniform at the best uniform's validation accuracy (goal ≤ 0.75), and
  that shallower plan's test accuracy over the uniform's (``test@acc``: what it costs held out);
- ``BO/unif`` (with ``--bo``): the global BO's test accuracy over the best uniform's;
- planning time: profiling, candidates, sensitivities, uniform plans and the plan, wall and CPU
  seconds, with the load average before and after (goal < 300 s on 2 cores).

The global BO and the fine-tuning rows of the example are left out here (``--bo`` adds the BO).

    python bench/bench_plan.py [--seeds 0 1 2] [--variants plain batchnorm] [--quick]
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import time

EXAMPLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "examples", "torch_network_plan.py")


def load_example():
    spec = importlib.util.spec_from_file_location("torch_network_plan", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--variants", nargs="+", choices=("plain", "batchnorm"), default=["plain", "batchnorm"])
    ap.add_argument("--quick", action="store_true", help="the example's --quick settings (seconds per run)")
    ap.add_argument("--bo", action="store_true", help="also run the global BO (minutes per run)")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    example = load_example()
    import torch

    torch.set_num_threads(args.threads)
    rows = []
    started = time.perf_counter()
    for variant in args.variants:
        for seed in args.seeds:
            argv_run = ["--seed", str(seed), "--quiet", "--no-pa"] + (["--batchnorm"] if variant == "batchnorm" else [])
            argv_run += [] if args.bo else ["--no-bo"]
            argv_run += ["--quick"] if args.quick else []
            ex_args = example.finish_args(example.parser(), example.parser().parse_args(argv_run))
            result = example.compare(ex_args)
            g, best, r = result["goals"], result["best_uniform"], result["rows"]
            bo = next((v for k, v in r.items() if k.startswith("global BO")), None)
            rows.append({"variant": variant, "seed": seed, "uniform": best["candidate"], "uniform_depth": best["total_depth"],
                         "plan_depth_at_budget": r["plan @ uniform depth"]["depth"],
                         "plan_depth_at_score": r["plan @ uniform accuracy"]["depth"],
                         "acc_val": g["accuracy_ratio_val"], "acc_test": g["accuracy_ratio_test"],
                         "depth": g["depth_ratio"], "reached": g["target_reached"],
                         "test_at_acc": r["plan @ uniform accuracy"]["test"] / best["test"] if best["test"] else None,
                         "bo_test": bo["test"] / best["test"] if bo else None,
                         "wall": g["planning_seconds"], "cpu": g["planning_cpu_seconds"], "evaluations": g["evaluations"],
                         "load": (g["load_average_before"], g["load_average_after"])})
            print(_line(rows[-1]), flush=True)
    print(_table(rows))
    print(f"\ntotal {time.perf_counter() - started:.0f} s on {os.cpu_count()} CPUs, {args.threads} torch thread(s), "
          f"load average now {os.getloadavg()[0]:.1f}")
    return 0


HEAD = (f"{'variant':<10}{'seed':>5}  {'best uniform':<16}{'depth':>6}{'plan@D':>7}{'plan@acc':>9}"
        f"{'acc val':>9}{'acc test':>9}{'depth':>7}{'test@acc':>9}{'BO/unif':>8}{'wall s':>8}{'cpu s':>7}{'evals':>6}  load")


def _line(r) -> str:
    f = lambda v: "  n/a" if v is None else f"{v:.3f}"  # noqa: E731
    depth = f(r["depth"]) + ("" if r["reached"] else "*")
    return (f"{r['variant']:<10}{r['seed']:>5}  {r['uniform']:<16}{r['uniform_depth']:>6}{r['plan_depth_at_budget']:>7}"
            f"{r['plan_depth_at_score']:>9}{f(r['acc_val']):>9}{f(r['acc_test']):>9}{depth:>7}{f(r['test_at_acc']):>9}"
            f"{f(r['bo_test']):>8}"
            f"{r['wall']:>8.1f}{r['cpu']:>7.1f}{r['evaluations']:>6}  {r['load'][0]:.1f}->{r['load'][1]:.1f}")


def _table(rows) -> str:
    lines = ["", "network plans vs the best uniform choice (ratios measured in the same run; * = target not reached)",
             HEAD] + [_line(r) for r in rows]
    for variant in dict.fromkeys(r["variant"] for r in rows):
        sel = [r for r in rows if r["variant"] == variant]
        mean = lambda key: statistics.fmean(r[key] for r in sel if r[key] is not None)  # noqa: E731
        lines.append(f"{variant:<10} mean: accuracy ratio {mean('acc_val'):.3f} (val) {mean('acc_test'):.3f} (test)   "
                     f"[goal >= 1];  depth ratio {mean('depth'):.3f} [goal <= 0.75] (its test accuracy ratio "
                     f"{mean('test_at_acc'):.3f});  "
                     f"planning {mean('wall'):.0f} s wall, {mean('cpu'):.0f} s CPU, max {max(r['wall'] for r in sel):.0f} s "
                     "[goal < 300 s]")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
