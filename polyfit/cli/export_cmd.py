"""``polyfit export PATH --to tenseal|openfhe|crypten [--out FILE]``: a standalone program."""
from __future__ import annotations

from types import MappingProxyType

from .common import positive_int

RUN_WITH = MappingProxyType({"tenseal": "python3 (pip install tenseal numpy)",
                             "openfhe": "CPython 3.10 or 3.12 (pip install openfhe numpy)",
                             "crypten": "python3 with CrypTen (pip install crypten numpy)"})


def add_parser(sub) -> None:
    p = sub.add_parser("export", help="write a standalone TenSEAL, OpenFHE or CrypTen program for an artifact",
                       description="Write a Python program (numpy and the engine only, no polyfit import) that "
                                   "evaluates the artifact on the engine: one function, evaluate(), for your "
                                   "pipeline; run as a script it checks itself on sample inputs and prints a last "
                                   "line of JSON with levels_used and max_error_vs_artifact. "
                                   "Exit 0: written; 2: bad input.")
    p.add_argument("path", metavar="PATH", help="artifact JSON written by polyfit")
    p.add_argument("--to", required=True, choices=("tenseal", "openfhe", "crypten"), help="the engine")
    p.add_argument("--out", metavar="FILE", help="where to write the program (default: <artifact>_<engine>.py "
                                                 "in the current folder)")
    p.add_argument("--samples", type=positive_int, default=256, metavar="N",
                   help="sample inputs the program checks itself on, 2..16384 (default 256)")
    p.set_defaults(run=run)


def run(args) -> int:
    import os
    import sys

    from ..errors import InputError
    from ..export import ENGINE_NAMES, write_program
    from .common import planned_outputs

    if not args.out:
        stem = os.path.splitext(os.path.basename(args.path))[0] or "artifact"
        args.out = f"{stem}_{args.to}.py"
    planned_outputs(args, None, flags=("out",))
    if os.path.exists(args.path) and os.path.realpath(args.out) == os.path.realpath(args.path):
        raise InputError(f"--out {args.out!r} is the artifact being exported; give another path for the program")
    result = write_program(args.path, args.to, args.out, samples=args.samples)
    levels = "" if result.levels is None else f", {result.levels} levels"
    print(f"program  {args.out} ({ENGINE_NAMES[args.to]}{levels}; run it with {RUN_WITH[args.to]})")
    if not result.matches_claim:
        print(f"polyfit export: note: the artifact claims {result.claimed_levels} {ENGINE_NAMES[args.to]} levels; "
              f"this program uses {result.levels} (re-fit or `polyfit report` to refresh the claim)", file=sys.stderr)
    for note in result.notes:
        print(f"polyfit export: note: {note}", file=sys.stderr)
    return 0
