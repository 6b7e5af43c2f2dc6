"""Generate the composite tables of docs/composite.md (α = 7 … 14 vs Lee et al., α = 15 … 20).

For every α: the least-depth composite found by ``pf.composite`` for ReLU (error ≤ 2^−α on
[−1, 1]) and for sign (error ≤ 2^−α on ε ≤ |x| ≤ 1, ε = 2^−α), with degrees, CKKS depth,
ciphertext products, the measured error (dense grid of the artifact) and the time taken.

    python examples/composite_tables.py              # print the tables
    python examples/composite_tables.py --write      # also replace them in docs/composite.md
    python examples/composite_tables.py --alphas 7 8 # a quick subset
"""
from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import polyfit as pf

LEE = {7: ([7, 7], 7, -7.04), 10: ([7, 7, 13], 11, -10.11)}   # ReLU: degrees, depth incl. relu, log2 error
DOCS = Path(__file__).resolve().parent.parent / "docs" / "composite.md"
START, END = "<!-- composite-tables:start -->", "<!-- composite-tables:end -->"


def row(alpha: float, function: str) -> dict:
    start = time.perf_counter()
    a = pf.composite(alpha=alpha, function=function)
    elapsed = time.perf_counter() - start
    prov = a.provenance
    error = prov["relu_error"] if function == "relu" else prov["sign_error"]
    return {"alpha": alpha, "degrees": a.degrees, "depth": a.depth["ckks_levels"],
            "mults": a.depth["ct_ct_multiplications"], "log2_error": math.log2(error),
            "grid_log2_error": math.log2(a.metrics["max_abs_error"]), "epsilon": a.objective["epsilon"],
            "seconds": elapsed}


def table(rows, function: str, compare: bool) -> str:
    gap = "ε (chosen)" if function == "relu" else "ε"
    head = f"| α | degrees | depth | ct×ct | log2 error (dense) | log2 error (artifact grid) | {gap} | time s |"
    if compare:
        head += " Lee et al. |"
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        line = (f"| {r['alpha']:g} | {r['degrees']} | {r['depth']} | {r['mults']} | {r['log2_error']:.2f} | "
                f"{r['grid_log2_error']:.2f} | 2^{math.log2(r['epsilon']):.2f} | {r['seconds']:.1f} |")
        if compare:
            lee = LEE.get(int(r["alpha"]))
            line += f" {lee[0]}, depth {lee[1]}, 2^{lee[2]} |" if lee else " — |"
        lines.append(line)
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--alphas", type=float, nargs="+", default=list(range(7, 21)))
    parser.add_argument("--write", action="store_true", help="replace the tables in docs/composite.md")
    args = parser.parse_args(argv)
    sections = []
    for function in ("relu", "sign"):
        low = [row(a, function) for a in args.alphas if a <= 14]
        high = [row(a, function) for a in args.alphas if a > 14]
        what = "ReLU, error ≤ 2^−α on [−1, 1]" if function == "relu" else "sign, error ≤ 2^−α on 2^−α ≤ |x| ≤ 1"
        if low:
            sections.append(f"**{what}, α ≤ 14**\n\n" + table(low, function, compare=function == "relu"))
        if high:
            sections.append(f"**{what}, α = 15 … 20**\n\n" + table(high, function, compare=False))
    text = "\n\n".join(sections)
    print(text)
    if args.write:
        from polyfit.atomic import atomic_write_text

        doc = DOCS.read_text(encoding="utf-8")
        if START not in doc or END not in doc:
            raise SystemExit(f"{DOCS} has no {START} … {END} markers")
        before, rest = doc.split(START, 1)
        _, after = rest.split(END, 1)
        atomic_write_text(DOCS, f"{before}{START}\n{text}\n{END}{after}")
        print(f"wrote {DOCS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
