"""The readable text of an approximation's reports (what ``polyfit fit`` and ``report`` print).

It prints what the value states — coefficients, errors, depth, precision, and the solver's
``provenance["certificate"]`` in the one shape of :mod:`polyfit.certificate` — without knowing
which solver made it.
"""
from __future__ import annotations

from .certificate import Certificate
from .depth import effective_degree


def _number(value, spec: str) -> str:
    """A stored number, or "not finite" where the file holds null (JSON has no inf/nan)."""
    return "not finite" if value is None else format(value, spec)


def certificate_line(data: dict) -> str:
    """One line for ``provenance["certificate"]`` of any solver (polyfit.certificate), as the
    solver stated it; a malformed one is shown as stored rather than guessed at."""
    try:
        return Certificate.from_dict(data).summary() + " [stated by the solver; report does not re-solve]"
    except (KeyError, TypeError, ValueError):
        return f"stored certificate {data!r} (not in polyfit's certificate shape)"


def format_report(approx) -> str:
    """Readable multi-line report: coefficients (float and integer), errors, depth, precision."""
    lines = []
    lo, hi = approx.domain
    t = approx.target
    lines.append(f"target   {t.name}" + (f"  ({t.expr})" if t.expr and t.expr != t.name else ""))
    lines.append(f"domain   [{lo:g}, {hi:g}]" + (f"   input_scale {approx.input_scale:.17g}" if approx.input_scale != 1.0 else "")
                 + (f"   combine {approx.combine}" if approx.combine != "none" else ""))
    prov = approx.provenance
    lines.append(f"solver   {prov.get('solver')} ({prov.get('backend')}), {prov.get('elapsed_s') or 0.0:.3f} s")
    for i, stage in enumerate(approx.stages):
        interval = f" on [{stage.interval[0]:g}, {stage.interval[1]:g}]" if stage.interval else ""
        head = f"stage {i}  {stage.basis}, degree {stage.degree}{interval}"
        effective = effective_degree(stage)
        if effective != stage.degree:
            label = "T" if stage.basis == "chebyshev" else "x^"
            head += (f" (effective degree {effective}: the coefficients of {label}{effective + 1} … "
                     f"{label}{stage.degree} are zero and are not evaluated)")
        if stage.quantized:
            head += f", integers × 2^-{stage.quantized.frac_bits}"
        lines.append(head)
        for k, c in enumerate(stage.coefficients):
            integer = f"{stage.quantized.integers[k]:>14d}" if stage.quantized else ""
            label = f"T{k}" if stage.basis == "chebyshev" else f"x^{k}"
            lines.append(f"  {label:<6}{c:>+24.17g}{integer}")
    choice = prov.get("basis_choice")
    if choice:
        lines.append(f"basis    {choice['chosen']} ({choice['requested']}: {choice['reason']})")
    m = approx.metrics
    if m:
        ex = f", excluding ({m['exclude'][0]:g}, {m['exclude'][1]:g})" if m.get("exclude") else ""
        lines.append(f"error    max |e| {_number(m['max_abs_error'], '.6e')} (at x = {_number(m.get('argmax_x'), 'g')}), "
                     f"rms {_number(m['rms_error'], '.6e')} on {m['grid_points']} points{ex}")
    d = approx.depth
    if d:
        b = d["backends"]
        r = d["mpc_rounds"]
        lines.append(f"depth    CKKS levels {d['ckks_levels']} ({d['ct_ct_multiplications']} ct×ct products); "
                     f"Lattigo {b['lattigo']}, OpenFHE {b['openfhe']}, TenSEAL {b['tenseal']}")
        lines.append(f"mpc      rounds ({r.get('parties', 2)} parties): Horner {r['horner']}, power tree {r['power_tree']}, "
                     f"single-round {r['single_round']}"
                     + (f"; 3 parties: {r['three_party']['horner']}, {r['three_party']['power_tree']}, "
                        f"{r['three_party']['single_round']}" if r.get("three_party") else ""))
        if d.get("note"):
            lines.append(f"note     {d['note']}")
    p = approx.precision
    if p:
        peak = "unbounded" if p.get("peak_bits") is None else f"{p['peak_bits']} bits"
        line = (f"fixed    {p['frac_bits']} fractional bits, |x| ≤ {p['input_bound']:g}: peak {peak} "
                f"of a {p['ring_bits']}-bit ring — {'fits' if p['fits'] else 'DOES NOT FIT'}")
        if p.get("failure_probability") is not None:
            line += f"; 2-party truncation fails with p = {p['failure_probability']:.1e} per element"
        single = p.get("single_rescale")
        if single:
            single_peak = "unbounded" if single.get("peak_bits") is None else f"{single['peak_bits']} bits"
            line += f"; single-rescale peak {single_peak} — {'fits' if single['fits'] else 'OVERFLOWS'}"
        lines.append(line)
        mpc = p.get("mpc_schedule") or {}
        if mpc.get("name"):
            lines.append(f"mpc      schedule {mpc['name']} at F = {mpc['frac_bits']}: {mpc['rounds_2party']} rounds "
                         f"(2 parties; {mpc['rounds_3party']} with 3), {mpc['bytes_per_element']} bytes/element/party, "
                         f"simulated error {mpc['simulated_max_error']:.2e}, failure p = {mpc['failure_probability']:.1e}"
                         f" — {'fits' if mpc['fits'] else 'DOES NOT FIT'}")
        elif mpc:
            lines.append(f"mpc      no schedule: {mpc.get('reason')}")
    certificate = prov.get("certificate")
    if isinstance(certificate, dict):
        lines.append(f"optimum  {certificate_line(certificate)}")
    for note in prov.get("warnings", []) or []:
        lines.append(f"warning  {note}")
    return "\n".join(lines)
