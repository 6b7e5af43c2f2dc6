"""``polyfit report PATH``: the readable report of an artifact, re-checked."""
from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser("report", help="print the report of an artifact JSON (and re-check its metrics)",
                       description="Print coefficients, errors, depth and precision of an artifact, and "
                                   "re-evaluate its metrics and depth to check the stored numbers.")
    p.add_argument("path", metavar="PATH", help="artifact JSON")
    p.add_argument("--json", action="store_true", help="print the re-check as JSON instead of text")
    p.set_defaults(run=run)


def run(args) -> int:
    import json

    from ..artifact import load
    from ..recheck import recheck
    from ..report_text import format_report

    approx = load(args.path)
    check = recheck(approx)
    if args.json:
        print(json.dumps(check, indent=2))
    else:
        print(format_report(approx))
        for line in check["lines"]:
            print(line)
    return 0 if check["ok"] else 1
