"""Who coded and how well: the reference coding's record, in-sample and held-out agreement, coders, queues."""

from __future__ import annotations

import pandas as pd

from analysis.params.annotations import KINDS, SAMPLES, CodingRecord, file_sha256, load_codings
from analysis.params.files import params_files
from analysis.paths import Paths
from analysis.views.fragments import safe_html, table

TOO_FEW = "样本过少 too few to estimate"
NO_HELD_OUT = ("无样本外估计 no out-of-sample estimate：还没有在词典冻结后编码的条目。"
               "No item was coded after the dictionary was frozen.")
SAMPLE_TITLES = {"in_sample": "样本内一致性 In-sample agreement（词典在这些条目上调整过，偏乐观 optimistic）",
                 "held_out": "样本外一致性 Held-out agreement（条目在词典冻结后编码 coded after freezing）"}
CHECK_TITLES = {"in_sample": "分类器 F1（留一计划交叉验证）classifier, grouped CV",
                "held_out": "分类器 F1（样本内条目训练）classifier trained on the in-sample items"}
COUNTS = {"single": "单人编码 single coder", "multiple": "多人编码并裁决 several coders, adjudicated"}


def records(paths: Paths, scheme: str) -> list[CodingRecord]:
    """The recorded codings of `scheme` (data/annotations/codings.yaml)."""
    return [r for r in load_codings(paths.codings) if scheme in r.schemes]


def describe(record: CodingRecord) -> str:
    """One line naming what the reference is: coder, kind, single/multiple, date, codebook, sample."""
    return (f"{record.file}：{record.coder}；{KINDS[record.coder_kind]}；{COUNTS[record.coders]}；"
            f"{record.date}；{record.codebook}；{SAMPLES[record.sample]}")


def frozen_line(paths: Paths, record: CodingRecord, scheme: str) -> str:
    """For a held-out coding: the dictionary hash at freezing and whether the file still has it."""
    if record.sample != "held_out":
        return ""
    frozen = record.dictionary_sha256.get(scheme, "")
    dictionary = params_files(paths.params, [scheme])[0]  # a scheme is coded by the params section of its name
    now = file_sha256(dictionary)
    state = ("与当前文件相同 same as now" if frozen == now
             else "当前文件已改变 the dictionary changed since: 样本外估计针对旧版")
    return f"冻结时 {dictionary.name} SHA-256 {frozen[:12]}…（{state}）"


def reference_html(paths: Paths, scheme: str):
    """The list of codings the agreement below is measured against, each described, with the one
    statement of what was written first; says so when there is none."""
    found = records(paths, scheme)
    if not found:
        return safe_html("<p>没有记录的参考编码 No recorded reference coding (data/annotations/codings.yaml).</p>")
    from IPython.display import HTML

    items = "".join(
        safe_html("<li>{line}{order}{frozen}</li>", line=describe(r),
                  order=f"。顺序 order：{r.order}" if r.order else "",
                  frozen=f"。{frozen_line(paths, r, scheme)}" if r.sample == "held_out" else "").data
        for r in found)
    return HTML(f"<p>参考编码 Reference coding（谁编码、何时、依据哪一版手册）：</p><ul>{items}</ul>")


def _fmt(value: float) -> str:
    return "" if pd.isna(value) else f"{value:.2f}"


def agreement_table(rows: pd.DataFrame, labels: dict[str, pd.Series], kappa: bool) -> pd.DataFrame:
    """One validation table's rows for display: the counts, precision/recall/F1 (and κ) — 样本过少
    where the reference has fewer positive items than params/coding.yaml min_positives — and the
    classifier check's F1 with its bootstrap interval (grouped CV in-sample; held-out: the model
    trained on the in-sample items), 样本过少 where the reference has too few positive items."""
    few = ~rows["estimable"].astype(bool)
    shown = {"precision": "精确率 precision", "recall": "召回率 recall", "f1": "F1"} | ({"kappa": "κ"} if kappa else {})
    frame = pd.DataFrame({**labels, "条目 items": rows["n_items"], "正例 positives": rows["tp"] + rows["fn"],
                          "一致为是 tp": rows["tp"], "误报 fp": rows["fp"], "漏报 fn": rows["fn"]})
    for column, title in shown.items():
        frame[title] = rows[column].map(_fmt).where(~few, TOO_FEW)
    check = rows["clf_f1"].map(_fmt) + " [" + rows["clf_f1_low"].map(_fmt) + ", " + rows["clf_f1_high"].map(_fmt) + "]"
    checked = rows["level"].eq("type") if "level" in rows else pd.Series(True, index=rows.index)  # not sub-tools
    if checked.any():
        title = CHECK_TITLES[rows["sample"].iloc[0]]
        frame[title] = check.where(rows["clf_f1"].notna(), "").where(~(few & checked), TOO_FEW).to_numpy()
    return frame.reset_index(drop=True)


def sample_sections(validation: pd.DataFrame, labels, kappa: bool) -> list:
    """In-sample, then held-out agreement (or the line saying there is no out-of-sample estimate),
    each under its own heading; `labels(rows)` gives the label columns of some rows."""
    shown = []
    for sample, title in SAMPLE_TITLES.items():
        rows = validation[validation["sample"] == sample]
        shown.append(safe_html("<h4>{title}</h4>", title=title))
        if rows.empty:
            shown.append(safe_html("<p>{line}</p>", line=NO_HELD_OUT if sample == "held_out" else "—"))
        else:
            shown.append(table(agreement_table(rows, labels(rows), kappa)))
    return shown


def coders_table(paths: Paths) -> pd.DataFrame:
    """Every recorded coding: file, coder, kind, single/multiple, date, codebook, sample, dictionary hash."""
    return pd.DataFrame([{
        "文件 file": r.file, "编码者 coder": r.coder, "类型 kind": KINDS[r.coder_kind], "人数 coders": COUNTS[r.coders],
        "日期 date": r.date, "手册 codebook": r.codebook, "样本 sample": SAMPLES[r.sample],
        "词典 SHA-256（冻结时）": "、".join(f"{k} {v[:12]}" for k, v in r.dictionary_sha256.items())}
        for r in load_codings(paths.codings)])


NO_REFERENCE = {"themes": "没有参考编码，词表未经验证。 No reference coding: the lexicon is not validated.",
                "policy_tools": "没有参考编码，提示词未经验证。 No reference coding: the cues are not validated."}


def theme_labels(rows: pd.DataFrame) -> dict[str, pd.Series]:
    return {"主题 theme": rows["theme"]}


def tool_labels(rows: pd.DataFrame) -> dict[str, pd.Series]:
    return {"类型 type": rows["type"], "子工具 sub-tool": rows["sub_tool"].fillna("").replace("", "（合计 all）")}


def validation_views(paths: Paths, validation: pd.DataFrame, scheme: str) -> list:
    """What a page shows wherever agreement is shown: the reference coding's record, then in-sample
    and held-out agreement (lexicon_validation.csv or policy_tool_validation.csv)."""
    if validation.empty:
        return [safe_html("<p>{line}</p>", line=NO_REFERENCE[scheme])]
    labels, kappa = (theme_labels, False) if scheme == "themes" else (tool_labels, True)
    return [reference_html(paths, scheme), *sample_sections(validation, labels, kappa)]
