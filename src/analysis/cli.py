"""Command line: `python -m analysis {check,run,…}`. Parses arguments and calls the stages."""

from __future__ import annotations

import argparse
import errno
import io
import os
import sys
from pathlib import Path

from analysis.corpus.vocab import ADMIN_LEVELS, COMPLETENESS
from analysis.params.files import KWIC_WINDOW_MAX
from analysis.paths import CONTROL, Paths, ProjectError, printable

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
    from analysis.corpus.reader import project_reader
    from analysis.pipeline import check_params
    from analysis.publish.jobs import check_notebooks

    for doc_id in args.accept or []:
        accept_checksum(paths.raw, doc_id)
        print(f"accepted the current sha256 of {doc_id}")
    params, warnings = check_params(paths)  # params and notebooks first: refused before any plan is read (and cached)
    check_notebooks(paths, params.report)
    plans = validate(paths.raw, project_reader(paths.raw, params.structure, params.ingest))
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
    from filelock import FileLock, Timeout

    from analysis.corpus.add import AddRequest, add_plans, metadata_in, prepare_plans, read_metadata
    from analysis.corpus.manifest import parse_year
    from analysis.corpus.reader import project_reader
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

    params = load_params(paths.params)  # extraction limits, markers; the outline cleans and structures with them
    reader = project_reader(paths.raw, params.structure, params.ingest)
    prepare_plans(paths.raw, requests, reader, problems)  # extract and check before taking the lock
    paths.processed.mkdir(parents=True, exist_ok=True)
    lock = FileLock(paths.processed / ".lock")  # never while a run reads data/raw into its snapshot
    try:
        lock.acquire(timeout=0)
    except Timeout:
        print(f"waiting for {lock.lock_file}: another `run` or `add` is using data/processed …", file=sys.stderr)
        lock.acquire()
    try:
        plans = add_plans(paths.raw, requests, problems, reader)  # the files are extracted already (cache)
    finally:
        lock.release()
    from analysis.views.dataset import outline

    for plan in plans:
        print(f"added {plan.doc_id}: {paths.raw / plan.file} ({plan.district} {plan.year}, {plan.completeness})"
              + ("; run `make reports` to include it everywhere" if len(plans) == 1 else ""))
        print("\n".join(outline(plan, paths.raw, params)))
    if len(plans) > 1:
        print(f"added {len(plans)} plans; run `make reports` to include them everywhere")
    return 0


def cmd_verify(paths: Paths | None, args: argparse.Namespace) -> int:
    from analysis.publish.verify import SHA256, verify

    pinned = args.manifest_sha256
    if pinned is not None and not SHA256.fullmatch(pinned.lower()):
        raise ProjectError(f"--manifest-sha256 {pinned}: give the 64 hex digits the run printed (run manifest SHA-256)")
    reports = Path(args.reports_dir) if args.reports_dir else paths.reports
    manifest, problems = verify(reports, Path(args.tables) if args.tables else None, pinned)
    if problems:
        raise ProjectError(*problems)
    print(f"ok: {reports} matches its run manifest ({len(manifest['pages'])} pages, {len(manifest['tables'])} tables)"
          + (", whose SHA-256 is the pinned one" if pinned else ""))
    return 0


def cmd_bundle(paths: Paths, args: argparse.Namespace) -> int:
    from analysis.paths import CITATION, LOCK
    from analysis.publish.verify import write_bundle

    try:
        target = write_bundle(paths.root, Path(args.out) if args.out else paths.root / "bundles", [CITATION, LOCK])
    except ValueError as exc:
        raise ProjectError(*str(exc).splitlines()) from None
    from analysis.pipeline import print_manifest_sha256

    print(f"bundled {target}")
    print_manifest_sha256(paths)
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


def cmd_coding(paths: Paths, args: argparse.Namespace) -> int:
    from analysis.files import read_csv
    from analysis.params import load_params
    from analysis.stages import coding, coding_sheets

    params = load_params(paths.params)
    items = read_csv(paths.processed / "items.csv")
    if args.action == "export":
        disputed = coding.review_queue(paths) if args.disputed else None
        target = Path(args.out) if args.out else paths.root / "data" / "annotations" / "sheets" / "coding_sheet"
        files, n = coding_sheets.export_sheet(
            paths, params, items, read_csv(paths.processed / "documents.csv"), target, which=args.scheme,
            plans=args.plans, sample=args.sample, stratify=args.stratify, disputed=disputed, seed=args.seed)
        print(f"wrote {n} items to code: {', '.join(map(str, files))}")
    elif args.action == "import":
        if not args.file or not args.coder:
            raise ProjectError("coding import needs FILE and --coder NAME")
        if args.adjudicated:
            stored, record, n = coding_sheets.import_adjudication(paths, params, items, Path(args.file), args.coder,
                                                                  args.kind)
        else:
            stored, record, n = coding_sheets.import_sheet(paths, params, items, Path(args.file), args.coder,
                                                           args.kind, args.heldout)
        print(f"stored {n} rows of {record.coder} ({record.sample}) in {stored}; recorded in "
              f"{coding.codings_path(paths)}; run `make reports` to validate against it")
    elif args.action == "adjudicate":
        queue = coding.adjudication_queue(paths)
        if queue.empty:
            print("no disagreement between imported coders to adjudicate")
            return 0
        text = items.set_index(["doc_id", "item_seq"])["text"]
        keys = zip(queue["doc_id"], queue["item_seq"], strict=True)
        queue = queue.assign(text=[text.get(key, "") for key in keys])
        target = Path(args.out) if args.out else paths.root / "data" / "annotations" / "sheets" / "adjudication"
        files = coding_sheets.write_sheet(queue, target)
        print(f"wrote {len(queue)} disagreements to decide: {', '.join(map(str, files))}; fill `decision` (0/1) "
              "and run `coding import FILE --adjudicated --coder NAME`")
    else:
        stats = params.statistics
        print(coding.all_agreement(paths, stats.replicates, stats.level, stats.seed).to_string(index=False))
    return 0


def add_coding_parser(sub) -> None:
    """`coding export|import|adjudicate|agreement`: the second-coder workflow."""
    parser = sub.add_parser("coding", help="coding sheets for human or automated coders: export, import, "
                                           "adjudicate, agreement")
    parser.add_argument("action", choices=["export", "import", "adjudicate", "agreement"])
    parser.add_argument("file", nargs="?", metavar="FILE", help="import: the filled sheet (.xlsx or .csv)")
    parser.add_argument("--scheme", choices=["themes", "policy_tools", "both"], default="both",
                        help="export: the categories to code (default: both)")
    parser.add_argument("--plans", nargs="+", metavar="DOC_ID", help="export: these plans' items")
    parser.add_argument("--sample", type=positive_int, metavar="N", help="export: N plans not yet coded, at random")
    parser.add_argument("--stratify", metavar="COLUMN", help="export --sample: in turn from each value of this "
                                                             "documents.csv column (e.g. region, year)")
    parser.add_argument("--disputed", action="store_true",
                        help="export: the items where the dictionary and the classifier check disagree")
    parser.add_argument("--seed", type=int, help="export: seed of the order and sample (params/coding.yaml)")
    parser.add_argument("--out", metavar="PATH", help="export/adjudicate: the sheet path without suffix")
    parser.add_argument("--coder", metavar="NAME", help="import: who coded (or adjudicated)")
    parser.add_argument("--kind", choices=["human", "automated"], default="human",
                        help="import: a human coder or an automated one (language-model agent)")
    parser.add_argument("--heldout", action="store_true",
                        help="import: coded after the dictionary was frozen (its SHA-256 is recorded now)")
    parser.add_argument("--adjudicated", action="store_true", help="import: a filled adjudication sheet")
    parser.set_defaults(func=cmd_coding)


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
    verify.add_argument("--manifest-sha256", metavar="HEX",
                        help="also require run_manifest.json to have this SHA-256 (printed at the end of the run)")
    verify.set_defaults(func=cmd_verify)
    bundle = sub.add_parser("bundle", help="zip reports/, the tables, the manifest and SHA256SUMS for reviewers")
    bundle.add_argument("--out", metavar="DIR", help="where the zip goes (default: bundles/)")
    bundle.set_defaults(func=cmd_bundle)
    kwic = sub.add_parser("kwic", help="concordance of any term in the processed plans "
                                          "(reports/kwic/<query>.csv and .html)")
    kwic.add_argument("term", nargs="+", metavar="TERM", help="a word or phrase, matched literally in the cleaned text")
    kwic.add_argument("--plans", nargs="+", metavar="DOC_ID", help="only these plans (default: every plan)")
    kwic.add_argument("--window", type=int, default=20,
                      help=f"characters of context each side, 0 to {KWIC_WINDOW_MAX} (default: 20)")
    kwic.add_argument("--collocates", action="store_true",
                      help="also the plan terms near each TERM within items, by log-likelihood G² and PMI "
                           "(window and minimum count: params/explore.yaml); reports/kwic/<query>_collocates.csv")
    kwic.set_defaults(func=cmd_kwic)
    add_coding_parser(sub)
    return parser


class TerminalOut(io.TextIOBase):
    """sys.stdout while a command runs: control characters (ANSI/OSC escapes, U+0001 from plan text)
    are shown as escapes, and a reader that stops reading (`add … | head -1`) ends the output, not the
    command: the rest goes to /dev/null and the command finishes its work."""

    def __init__(self, stream: io.TextIOBase) -> None:
        self.stream = stream

    @property
    def encoding(self) -> str:
        return getattr(self.stream, "encoding", "utf-8")

    def isatty(self) -> bool:
        return self.stream.isatty()

    def write(self, text: str) -> int:
        try:
            self.stream.write(CONTROL.sub(lambda m: m.group() if m.group() in "\n\t" else printable(m.group()), text))
        except BrokenPipeError:
            self._reader_gone()
        return len(text)

    def flush(self) -> None:
        try:
            self.stream.flush()
        except BrokenPipeError:
            self._reader_gone()

    def _reader_gone(self) -> None:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, self.stream.fileno())
        os.close(devnull)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    stdout, sys.stdout = sys.stdout, TerminalOut(sys.stdout)
    try:
        standalone = args.command == "verify" and args.reports_dir and not args.root  # a reviewer's folder
        return args.func(None if standalone else Paths.from_root(args.root), args)
    except ProjectError as exc:
        problems, status = exc.problems, 2
    except OSError as exc:  # a read-only or full disk, a folder removed under us: one line, no traceback
        problems, status = [os_error_line(exc)], 2
    except KeyboardInterrupt as exc:  # a run says what it left published (pipeline.Interrupted)
        problems, status = [str(exc) or "interrupted; published data and reports are unchanged, run again"], 130
    finally:
        sys.stdout.flush()
        sys.stdout = stdout
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return status


def os_error_line(exc: OSError) -> str:
    """`path: reason; what to do` for an operating-system error."""
    hint = OS_HINTS.get(exc.errno, OS_HINT)
    return printable(f"{exc.filename or 'file system'}: {exc.strerror or exc}; {hint}")
