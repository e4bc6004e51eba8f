"""Orchestration: run the stages in order, execute the notebooks, publish reports."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from analysis.clean import CleanRules
from analysis.dataset import structure_corpus, write_corpus
from analysis.paths import Paths, ProjectError
from analysis.structure import StructureRules

NOTEBOOKS = ["01_clean_and_structure.ipynb"]


def check_params(paths: Paths) -> None:
    """Load every params file the pipeline uses, so a mistake is reported before any work."""
    CleanRules.from_yaml(paths.params / "clean.yaml")
    StructureRules.from_yaml(paths.params / "structure.yaml")


def execute_notebook(paths: Paths, name: str, parameters: dict, output: Path) -> Path:
    """Run one notebook template with papermill into `output`; a failure names notebook and cell."""
    import papermill

    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=output.parent, prefix=".run-") as scratch:
        executed = Path(scratch) / output.name
        try:
            papermill.execute_notebook(
                str(paths.notebooks / name), str(executed), parameters=parameters,
                cwd=str(paths.notebooks), progress_bar=False, kernel_name="python3",
            )
        except papermill.PapermillExecutionError as exc:
            failed = output.with_name(f"{output.stem}.failed.ipynb")
            shutil.copyfile(executed, failed)
            raise ProjectError(
                f"{paths.notebooks / name}: cell {exc.exec_count} raised {exc.ename}: {exc.evalue}; "
                f"executed copy kept at {failed}"
            ) from None
        executed.replace(output)
    return output


def run_pipeline(paths: Paths, force: bool = False) -> None:
    """Clean and structure every plan, then execute the notebooks into reports/notebooks/."""
    check_params(paths)
    tables = structure_corpus(paths.raw, paths.params)
    for done in tables.plans:
        for warning in done.structure.warnings:
            print(f"warning: {paths.raw / done.plan.file}: {warning}")
    written = write_corpus(tables, paths.processed)
    print(f"wrote {len(written)} files under {paths.processed}")
    for name in NOTEBOOKS:
        out = execute_notebook(paths, name, {"root": str(paths.root)}, paths.reports / "notebooks" / name)
        print(f"executed {name} → {out.relative_to(paths.root)}")
