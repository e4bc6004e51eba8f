"""Command line: `python -m analysis {check,run,…}`. Parses arguments and calls the stages."""

from __future__ import annotations

import argparse
import errno
import os
import sys
from pathlib import Path

from analysis.corpus.vocab import ADMIN_LEVELS, COMPLETENESS
from analysis.paths import Paths, ProjectError, printable

SCHEDULER_ENV = "ANALYSIS_SCHEDULER"  # machine configuration, like --scheduler; never a params file
OS_HINT = "check the path and its permissions, then run again"
OS_HINTS = {
    errno.EACCES: "make the folder writable (or run as its owner), then run again",
    errno.EPERM: "make the folder writable (or run as its owner), then run again",
    errno.EROFS: "the disk is read-only; use a writable copy of the project",
    errno.ENOSPC: "the disk is full; free some space, then run again",
    errno.EDQUOT: "the disk quota is exhausted; free some space, then run again",
}


def cmd_check(paths: Paths, args: argparse.Namespace) -> int:
    from analysis.corpus.manifest import accept_checksum, validate
    from analysis.pipeline import check_params
    from analysis.publish.jobs import check_notebooks

    for doc_id in args.accept or []:
        accept_checksum(paths.raw, doc_id)
        print(f"accepted the current sha256 of {doc_id}")
    plans = validate(paths.raw)
    params, warnings = check_params(paths)
    check_notebooks(paths, params.report)
    for warning in warnings:
        print(f"warning: {warning}")
    print(f"ok: {len(plans)} plans in {paths.manifest}, params in {paths.params} valid")
    return 0


def cmd_run(paths: Paths, args: argparse.Namespace) -> int:
    from analysis.pipeline import run_pipeline

    scheduler = args.scheduler or os.environ.get(SCHEDULER_ENV) or None
    run_pipeline(paths, force=args.force, jobs=args.jobs, scheduler=scheduler)
    return 0


def cmd_add(paths: Paths, args: argparse.Namespace) -> int:
    from filelock import FileLock

    from analysis.corpus.add import AddRequest, add_plans, metadata_in, read_metadata
    from analysis.corpus.manifest import parse_year
    from analysis.params import load_params

    files = [Path(f) for f in args.file]
    single = {"--title": args.title, "--source": args.source, "--region": args.region,
              "--admin-level": args.admin_level, "--doc-id": args.doc_id,
              "--completeness": args.completeness, "--district": args.district, "--year": args.year}
    given = [flag for flag, value in single.items() if value is not None]
    folder = files[0] if len(files) == 1 and files[0].is_dir() and not files[0].is_symlink() else None
    metadata = Path(args.metadata) if args.metadata else (metadata_in(folder) if folder and not given else None)
    if metadata is not None:
        if given:
            raise ProjectError(f"{', '.join(given)} describe one file; with a metadata file put them in its columns")
        if not metadata.is_file():
            raise ProjectError(f"{metadata}: no such metadata file; give a CSV or YAML with columns file,district,year")
        requests, problems = read_metadata(metadata, None if folder else files)
    elif len(files) > 1:
        raise ProjectError(
            "several files need --metadata meta.csv (columns file,district,year[,title,source,completeness,region,"
            "admin_level,doc_id]), or give a folder holding them and a metadata.csv"
        )
    else:
        missing = [flag for flag in ("--district", "--year") if single[flag] is None]
        if missing:
            raise ProjectError(
                f"{files[0]}: pass {' and '.join(missing)} (or a folder with metadata.csv, or --metadata)"
            )
        requests = [AddRequest(
            files[0], args.district, parse_year(args.year), title=args.title, source=args.source,
            completeness=args.completeness or "complete", region=args.region, admin_level=args.admin_level,
            doc_id=args.doc_id,
        )]
        problems = []

    params = load_params(paths.params)  # the outline below cleans and structures with them
    paths.processed.mkdir(parents=True, exist_ok=True)
    with FileLock(paths.processed / ".lock"):  # never while a run reads data/raw into its snapshot
        plans = add_plans(paths.raw, requests, problems)
    from analysis.views.dataset import outline

    for plan in plans:
        print(f"added {plan.doc_id}: {paths.raw / plan.file} ({plan.district} {plan.year}, {plan.completeness})"
              + ("; run `make reports` to include it everywhere" if len(plans) == 1 else ""))
        print("\n".join(outline(plan, paths.raw, params)))
    if len(plans) > 1:
        print(f"added {len(plans)} plans; run `make reports` to include them everywhere")
    return 0


def cmd_verify(paths: Paths | None, args: argparse.Namespace) -> int:
    from analysis.publish.verify import verify

    reports = Path(args.reports_dir) if args.reports_dir else paths.reports
    manifest, problems = verify(reports, Path(args.tables) if args.tables else None)
    if problems:
        raise ProjectError(*problems)
    print(f"ok: {reports} matches its run manifest ({len(manifest['pages'])} pages, {len(manifest['tables'])} tables)")
    return 0


def cmd_bundle(paths: Paths, args: argparse.Namespace) -> int:
    from analysis.paths import CITATION, LOCK
    from analysis.publish.verify import write_bundle

    try:
        target = write_bundle(paths.root, Path(args.out) if args.out else paths.root / "bundles", [CITATION, LOCK])
    except ValueError as exc:
        raise ProjectError(*str(exc).splitlines()) from None
    print(f"bundled {target}")
    return 0


def cmd_kwic(paths: Paths, args: argparse.Namespace) -> int:
    from analysis.files import write_csv_atomic
    from analysis.publish.kwic import print_collocates, print_concordance, run_kwic
    from analysis.views.data import load_report_data
    from analysis.views.explore import query_collocates, query_terms

    data = load_report_data(paths.root)
    frame, csv, page = run_kwic(data, args.term, args.plans, args.window)
    terms = query_terms(args.term)
    print_concordance(frame, terms, sorted(args.plans) if args.plans else sorted(data.documents["doc_id"]))
    print(f"wrote {csv} and {page}")
    if args.collocates:
        table = query_collocates(data, terms, args.plans)
        print_collocates(table, terms)
        write_csv_atomic(target := csv.with_name(f"{csv.stem}_collocates.csv"), table)
        print(f"wrote {target}")
    return 0


def positive_int(text: str) -> int:
    """argparse type: a whole number of at least 1."""
    if not text.isascii() or not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1; e.g. --jobs 2")
    return int(text)


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
    run.add_argument("--jobs", type=positive_int, default=None, help="reports executed in parallel (default: cores)")
    run.add_argument("--scheduler", metavar="ADDRESS",
                     help="a dask scheduler (e.g. tcp://10.0.0.5:8786) for the per-plan work of the stages; every "
                          f"worker sees the project at the same path (default: ${SCHEDULER_ENV}, else this machine)")
    run.set_defaults(func=cmd_run)
    add = sub.add_parser("add", help="add plans (e.g. next year's) to data/raw and the manifest, all or nothing")
    add.add_argument("file", nargs="+", metavar="FILE",
                     help="the plan: .txt (UTF-8 with or without BOM, UTF-16 with BOM, GBK/GB18030, or a saved page), "
                          ".html/.htm (a saved portal page), .pdf (with a text layer) or .docx; several files need "
                          "--metadata, or give one folder holding the files and a metadata.csv")
    add.add_argument("--metadata", metavar="META",
                     help="CSV (or YAML list) with columns file,district,year[,title,source,completeness,region,"
                          "admin_level,doc_id], one row per file")
    add.add_argument("--district", help="Chinese short name used in reports, e.g. 杨浦 (one file)")
    add.add_argument("--year", help="plan year, four ASCII digits, e.g. 2025 (one file)")
    add.add_argument("--title", help="plan title (default: the district's previous title with the new year)")
    add.add_argument("--source", help="where the text came from (URL, document number)")
    add.add_argument("--completeness", default=None, choices=COMPLETENESS, help="default: complete")
    add.add_argument("--region", help="e.g. 上海市 (default: from the district's earlier plans)")
    add.add_argument("--admin-level", help=f"one of {', '.join(ADMIN_LEVELS)} (default: as earlier plans)")
    add.add_argument("--doc-id", help="<pinyin>_<year> for a new district, e.g. xuhui_2025")
    add.set_defaults(func=cmd_add)

    verify = sub.add_parser("verify", help="check a reports folder against its run_manifest.json (exit 2 if not)")
    verify.add_argument("reports_dir", nargs="?", metavar="REPORTS_DIR",
                        help="the reports folder (default: the project's reports/); needs no project")
    verify.add_argument("--tables", metavar="DIR", help="the processed tables (default: data/processed beside it)")
    verify.set_defaults(func=cmd_verify)
    bundle = sub.add_parser("bundle", help="zip reports/, the tables, the manifest and SHA256SUMS for reviewers")
    bundle.add_argument("--out", metavar="DIR", help="where the zip goes (default: bundles/)")
    bundle.set_defaults(func=cmd_bundle)
    kwic = sub.add_parser("kwic", help="concordance of any term in the processed plans "
                                          "(reports/kwic/<query>.csv and .html)")
    kwic.add_argument("term", nargs="+", metavar="TERM", help="a word or phrase, matched literally in the cleaned text")
    kwic.add_argument("--plans", nargs="+", metavar="DOC_ID", help="only these plans (default: every plan)")
    kwic.add_argument("--window", type=int, default=20, help="characters of context each side (default: 20)")
    kwic.add_argument("--collocates", action="store_true",
                      help="also the plan terms near each TERM within items, by log-likelihood G² and PMI "
                           "(window and minimum count: params/explore.yaml); reports/kwic/<query>_collocates.csv")
    kwic.set_defaults(func=cmd_kwic)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        standalone = args.command == "verify" and args.reports_dir and not args.root  # a reviewer's folder
        return args.func(None if standalone else Paths.from_root(args.root), args)
    except ProjectError as exc:
        problems, status = exc.problems, 2
    except OSError as exc:  # a read-only or full disk, a folder removed under us: one line, no traceback
        problems, status = [os_error_line(exc)], 2
    except KeyboardInterrupt:
        problems, status = ["interrupted; published data and reports are unchanged, run again to finish"], 130
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return status


def os_error_line(exc: OSError) -> str:
    """`path: reason; what to do` for an operating-system error."""
    hint = OS_HINTS.get(exc.errno, OS_HINT)
    return printable(f"{exc.filename or 'file system'}: {exc.strerror or exc}; {hint}")
