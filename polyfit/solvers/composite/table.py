"""The composite's stage table as text: what ``polyfit composite`` prints after the common report.

The composite solver writes these provenance keys (``stages``, ``sign_error``,
``log2_sign_error``, ``relu_error``/``abs_error``), so it is the one that reads them back;
the CLI and the common report know no solver's keys.
"""
from __future__ import annotations

import math


def stage_table(approx) -> str:
    """One line per stage: degree, interval (positive half), error, depth, products."""
    prov = approx.provenance
    lines = ["stages   #  degree  basis      interval (and mirror)            error        log2   depth  ct×ct"]
    for row in prov.get("stages", []):
        lo, hi = row["interval"]
        log2 = row.get("log2_error")
        lines.append(f"         {row['stage']:<2} {row['degree']:>6}  {row['basis']:<9}  [{lo:.6e}, {hi:.6e}]  "
                     f"{row['error']:.3e}  {log2 if log2 is not None else float('-inf'):>6.2f}  {row['depth']:>5}  {row['multiplications']:>5}")
    d = approx.depth
    total_stage_depth = sum(r["depth"] for r in prov.get("stages", []))
    extra = d["ckks_levels"] - total_stage_depth
    lines.append(f"total    CKKS levels {d['ckks_levels']} = stages {total_stage_depth}"
                 + (f" + {extra} ({approx.combine})" if extra else "")
                 + f"; ct×ct {d['ct_ct_multiplications']}; Lattigo {d['backends']['lattigo']}, "
                   f"OpenFHE {d['backends']['openfhe']}, TenSEAL {d['backends']['tenseal']}")
    obj = approx.objective
    eps = obj.get("epsilon")
    if eps is not None:
        lines.append(f"gap      ε = {eps:.6g} (× B; {obj.get('epsilon_choice', 'preset nominal')}); "
                     f"sign error on |x| ≥ εB: {prov['sign_error']:.3e}"
                     + (f" (2^{prov['log2_sign_error']:.2f})" if prov.get("log2_sign_error") is not None else ""))
    if approx.combine in ("relu", "abs"):
        err = prov[f"{approx.combine}_error"]
        lines.append(f"{approx.combine:<8} max error on [-B, B] (dense grid): {err:.3e} (2^{math.log2(err):.2f})")
    return "\n".join(lines)
