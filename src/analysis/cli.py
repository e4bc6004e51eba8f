"""Command line: `python -m analysis {check,run,…}`. Parses arguments and calls the stages."""

from __future__ import annotations

import argparse
import sys

from analysis.paths import Paths, ProjectError


def cmd_check(paths: Paths, args: argparse.Namespace) -> int:
    from analysis.corpus import accept_checksum, validate
    from analysis.pipeline import check_params

    for doc_id in args.accept or []:
        accept_checksum(paths.raw, doc_id)
        print(f"accepted the current sha256 of {doc_id}")
    plans = validate(paths.raw)
    check_params(paths)
    print(f"ok: {len(plans)} plans in {paths.manifest}, params in {paths.params} valid")
    return 0


def cmd_run(paths: Paths, args: argparse.Namespace) -> int:
    from analysis.pipeline import run_pipeline

    run_pipeline(paths, force=args.force, jobs=args.jobs)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m analysis",
        description="Compare Chinese education work plans (教育局工作要点) across districts.",
    )
    parser.add_argument("--root", help="project root (default: search upward from the current folder)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = sub.add_parser("check", help="validate data/raw (manifest, files, checksums) and params/")
    check.add_argument("--accept", nargs="+", metavar="DOC_ID",
                       help="record the current sha256 of these plans after a deliberate change")
    check.set_defaults(func=cmd_check)

    run = sub.add_parser("run", help="run the pipeline: clean, structure, notebooks, reports")
    run.add_argument("--force", action="store_true", help="recompute every stage and report")
    run.add_argument("--jobs", type=int, default=None, help="reports executed in parallel (default: cores)")
    run.set_defaults(func=cmd_run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(Paths.from_root(args.root), args)
    except ProjectError as exc:
        for line in str(exc).splitlines():
            print(f"error: {line}", file=sys.stderr)
        return 2
