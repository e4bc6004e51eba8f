"""The data catalog describes data/processed exactly: every table a run writes is listed with its
columns in file order and their dtypes, under the stage that writes it, and nothing else is."""

from __future__ import annotations

import json

import pytest

from analysis import catalog
from analysis.files import read_csv
from analysis.paths import Paths, ProjectError
from analysis.stages.registry import STAGES

KINDS = {"str": "O", "int": "iu", "float": "f", "bool": "b"}


def test_every_written_table_is_in_the_catalog_with_its_columns_and_stage(published: Paths) -> None:
    outputs = json.loads((published.processed / ".stamps.json").read_text(encoding="utf-8"))["outputs"]
    written = {name[:-4]: stage for stage, files in outputs.items() for name in files
               if name.endswith(".csv") and "/" not in name}
    assert written == {table.name: table.stage for table in catalog.TABLES}
    folders = {name.split("/")[0]: stage for stage, files in outputs.items() for name in files if "/" in name}
    assert folders == catalog.FOLDERS
    for table in catalog.TABLES:
        frame = read_csv(published.processed / table.file)
        assert list(frame.columns) == table.columns, table.name
        for column, dtype in table.dtypes.items():
            if frame[column].notna().any() and not (frame[column] == "").all():
                assert frame[column].dtype.kind in KINDS[dtype] or str(frame[column].dtype) == "Int64", (
                    f"{table.name}.{column}: {frame[column].dtype} is not {dtype}")


def test_each_stage_declares_the_tables_it_writes() -> None:
    assert {stage.name for stage in STAGES} == {table.stage for table in catalog.TABLES}
    assert [t.name for t in STAGES[0].writes] == ["documents", "items", "removed"]


def test_an_unknown_table_is_a_one_line_error() -> None:
    with pytest.raises(ProjectError, match=r"no table 'nope'; known tables: adjudication_queue, ca_inertia, "):
        catalog.table("nope")
    assert catalog.table("items").file == "items.csv"
