"""Evidence: every counted mention with the place it has in its plan, as printed, and the links
that take a reader from a number on a page to the sentences behind it.

A mention inside a numbered item is cited by the item's printed number — `条目 7` for plans
numbered through, `条目 二.7` (section 二, item 7) for plans that number items per section; a
mention outside the items by where it stands: 标题 (title), 前言 (preamble) or 第二部分标题 (a
section heading). Counts link to `#evidence-<doc_id>-<theme>`, the id of that plan's evidence
block for the theme.
"""

from __future__ import annotations

import html

import pandas as pd

from analysis.corpus.structure import chinese_numeral
from analysis.stages.dataset import per_section_plans, plan_labels


def esc(value) -> str:
    return html.escape(str(value), quote=True)


def anchor(doc_id: str, theme: str, kind: str = "evidence") -> str:
    """The id of a plan's evidence block for one theme (or, with another `kind`, e.g. "tools", for
    one policy-tool type or sub-tool)."""
    return f"{kind}-{doc_id}-{theme}"


def marked(text: str, spans: list[tuple[int, str]]) -> str:
    """`text` escaped, each (offset, phrase) of `spans` (in text order, not overlapping) in <mark>."""
    pieces, at = [], 0
    for start, phrase in spans:
        pieces.append(f"{esc(text[at:start])}<mark>{esc(phrase)}</mark>")
        at = start + len(phrase)
    return "".join(pieces) + esc(text[at:])


def locations(kwic: pd.DataFrame, items: pd.DataFrame) -> pd.Series:
    """For each KWIC row, where the mention stands as a reader finds it in the printed plan."""
    printed = items.set_index(["doc_id", "item_seq"])["item_no"].astype(str)
    per_section = per_section_plans(items)

    def where(row) -> str:
        if row["where"] == "item":
            number = printed.get((row["doc_id"], int(row["item_seq"])), str(row["item_seq"])) or row["item_seq"]
            if row["doc_id"] in per_section:
                return f"条目 {chinese_numeral(int(row['section_no']))}.{number}"
            return f"条目 {number}"
        if row["where"] == "heading":
            return f"第{chinese_numeral(int(row['section_no']))}部分标题"
        return {"title": "标题", "preamble": "前言"}[row["where"]]

    return kwic.apply(where, axis=1) if len(kwic) else pd.Series(dtype=str)


def evidence_html(kwic: pd.DataFrame, items: pd.DataFrame, documents: pd.DataFrame, doc_ids: list[str],
                  themes: list[str], outside: set[tuple[str, str]] = frozenset()) -> str:
    """Per plan and theme, a <details> block (id = `anchor`) listing every counted mention with its
    printed location and context; a theme without mentions says so; a (doc_id, theme) of `outside`
    (the theme does not apply to the plan's year) is one line saying n/a."""
    labels = dict(zip(documents["doc_id"], plan_labels(documents), strict=True))
    shown = kwic[kwic["doc_id"].isin(doc_ids)]
    shown = shown.assign(location=locations(shown, items))
    blocks = []
    for doc_id in doc_ids:
        blocks.append(f"<h3>{esc(labels[doc_id])}</h3>")
        plan = shown[shown["doc_id"] == doc_id]
        for theme in themes:
            if (doc_id, theme) in outside:
                blocks.append(f"<p class='meta'>{esc(theme)}：n/a（该年份不适用，不计数 not applicable to the "
                              "plan's year）</p>")
                continue
            lines = plan[plan["theme"] == theme]
            lis = "".join(
                f"<li><span class='where'>{esc(r.location)} · {esc(r.term)}</span>…{esc(r.left)}"
                f"<mark>{esc(r.match)}</mark>{esc(r.right)}…</li>"
                for r in lines.itertuples()
            )
            blocks.append(
                f"<details class='kwic' id='{esc(anchor(doc_id, theme))}'><summary>{esc(theme)}："
                f"{len(lines)} 次提及 mentions</summary><ol class='kwic'>{lis}</ol></details>"
            )
    return "\n".join(blocks)


def linked_table(frame: pd.DataFrame, links: dict[str, pd.Series], index: bool = False) -> str:
    """`frame` as an HTML table, every cell and label escaped; a cell of a column in `links` becomes
    a link to the anchor in that Series (same index as `frame`; empty = no link)."""
    shown = pd.DataFrame(index=pd.Index([esc(i) for i in frame.index], name=_name(frame.index.name)))
    for number, column in enumerate(frame.columns):
        cells = [("—" if pd.isna(v) else esc(v)) for v in frame[column]]
        if column in links:
            targets = links[column].reindex(frame.index).fillna("")
            cells = [f"<a href='#{esc(t)}'>{c}</a>" if t else c for c, t in zip(cells, targets, strict=True)]
        shown.insert(number, esc(column), cells, allow_duplicates=True)
    shown.columns.name = _name(frame.columns.name)
    return shown.to_html(index=index, escape=False, border=0)


def _name(name) -> str | None:
    return None if name is None else esc(name)
