"""``python -m vigil.promqltest [--http] [--json] [--write-outcomes F] [-v] FILE...``: run test scripts, print
pass/fail/unsupported per file and unsupported cases per reason (``-v``: each failure)."""

from __future__ import annotations

import argparse
import json
import sys

from vigil.promqltest.report import FileReport, by_reason, figures


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m vigil.promqltest")
    ap.add_argument("files", nargs="+")
    ap.add_argument("--http", action="store_true",
                    help="black box: vigil tsdb import + vigil up, queries over HTTP")
    ap.add_argument("--jobs", type=int, default=2, help="servers at once (--http)")
    ap.add_argument("--json", action="store_true", help="print every outcome as JSON")
    ap.add_argument("--write-outcomes", metavar="FILE",
                    help="write identity -> outcome as JSON (an expected-outcome file)")
    ap.add_argument("-v", "--verbose", action="store_true", help="print each failure")
    args = ap.parse_args(argv)
    reports: list[FileReport]
    if args.http:
        from vigil.promqltest.http import run_files

        reports = run_files(args.files, jobs=args.jobs)
    else:
        from vigil.promqltest.runner import run_file

        reports = [run_file(f) for f in args.files]
    if args.write_outcomes:
        outcomes = {k: v for r in reports for k, v in r.outcomes.items()}
        with open(args.write_outcomes, "w") as f:
            json.dump(outcomes, f, indent=0, ensure_ascii=False)
            f.write("\n")
    if args.json:
        json.dump({"files": figures(reports), "reasons": by_reason(reports),
                   "outcomes": {k: v for r in reports for k, v in r.outcomes.items()},
                   "failures": {k: v for r in reports for k, v in r.failures.items()}},
                  sys.stdout, indent=1, ensure_ascii=False)
        print()
        return 0
    if args.verbose:
        for r in reports:
            for ident, why in r.failures.items():
                print(f"{ident}: {why}")
    print(f"{'file':28} {'pass':>5} {'fail':>5} {'unsupported':>11}")
    for name, row in figures(reports).items():
        print(f"{name:28} {row['pass']:5} {row['fail']:5} {row['unsupported']:11}")
    for reason, n in by_reason(reports).items():
        print(f"unsupported: {reason:40} {n:5}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
