"""``polyfit verify``: check an artifact's depth, precision and accuracy claims under CKKS or fixed point."""
from __future__ import annotations

from .common import finite_float, positive_int


def add_parser(sub) -> None:
    p = sub.add_parser("verify", help="check depth, precision and accuracy claims by running them (CKKS, OpenFHE or fixed point)",
                       description="Run an artifact under TenSEAL CKKS (--backend ckks, extra 'he'), OpenFHE CKKS "
                                   "(--backend openfhe: pip install openfhe, CPython 3.10 or 3.12) or a "
                                   "fixed-point ring simulation and check its depth, precision and accuracy claims. "
                                   "Exit 0: all claims hold; 1: a claim is false; 2: bad input.")
    p.add_argument("path", metavar="PATH", help="artifact JSON written by polyfit")
    p.add_argument("--backend", choices=("ckks", "openfhe", "fixed-point", "crypten"), default="ckks",
                   help="default ckks; crypten: real CrypTen processes (extra, see docs/deploy.md)")
    p.add_argument("--parties", type=positive_int, default=2, metavar="P",
                   help="crypten: number of parties, 2 or 3 (default 2)")
    p.add_argument("--levels", type=positive_int, metavar="L",
                   help="CKKS chain length to force (default: the reported ckks_levels; for openfhe "
                        "the multiplicative depth, default depth.backends.openfhe)")
    p.add_argument("--samples", type=positive_int, default=256, metavar="N",
                   help="sample inputs of the domain, 2..16384 (default 256)")
    p.add_argument("--ring-bits", type=positive_int, metavar="R", help="fixed-point ring bits, 16..128 (default 64)")
    p.add_argument("--frac-bits", type=positive_int, metavar="F", help="fixed-point fractional bits (default: the artifact's)")
    p.add_argument("--tolerance", type=finite_float, metavar="TOL",
                   help="accuracy claim: |engine − artifact| ≤ TOL and |engine − target| ≤ the artifact's max "
                        "error + TOL (default: 1e-4 for ckks and openfhe; 2^-F per rounding step for fixed-point)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(run=run)


def run(args) -> int:
    import json

    from ..verification import format_result, verify

    result = verify(args.path, backend=args.backend, levels=args.levels, samples=args.samples, parties=args.parties,
                    ring_bits=args.ring_bits, frac_bits=args.frac_bits, tolerance=args.tolerance)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, allow_nan=False, default=str))
    else:
        print(format_result(result))
    if not result.ok:
        import sys

        names = ", ".join(c.name for c in result.failed)
        print(f"polyfit verify: claim failed: {names}", file=sys.stderr)
        return 1
    return 0
