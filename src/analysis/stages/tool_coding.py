"""Policy-tool coding: every sentence of every plan item by the codebook's cues, and its item level.

An item is coded with a sub-tool when its text holds at least one counted cue of it (the codebook
is a `Dictionary`: longest cue first, without overlap, excluded phrases hiding the cues inside them)
or a clause where one of its verb + object rules holds (the cue is then written "verb+object").
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from analysis.corpus.structure import chinese_numeral
from analysis.text.dictionary import Dictionary

CODE_COLUMNS = ["doc_id", "item_seq", "sentence", "start", "unit", "type", "sub_tool", "cue", "sentence_text"]
ITEM_COLUMNS = ["doc_id", "item_seq", "unit", "type", "sub_tool", "cue"]
SENTENCE = re.compile(r"[^。；！？!?;\n]*(?:[。；！？!?;]+[”’」』）)]*)+|[^。；！？!?;\n]+")  # see `sentences`


def unit_label(doc_id: str, section_no: Any, item_no: Any) -> str:
    """The coding unit as printed: 编号-章-条 (plan id, section as a Chinese numeral, printed item number)."""
    section = chinese_numeral(int(section_no)) if pd.notna(section_no) else ""
    return f"{doc_id}-{section}-{item_no}"


def sentences(text: str) -> list[tuple[int, str]]:
    """(offset, sentence) of every sentence of `text`: a sentence ends after 。；！？ (or ! ? ;) and any
    closing quotes or brackets that follow, or at a line end; `text[offset:offset + len(sentence)]`
    is the sentence exactly. Whitespace-only pieces are dropped."""
    return [(m.start(), m.group()) for m in SENTENCE.finditer(text) if m.group().strip()]


def code_items(items: pd.DataFrame, book: Dictionary) -> pd.DataFrame:
    """One row per item × sentence × sub-tool found in the sentence (its distinct cues in text order,
    joined by 、; `sentence` numbers the item's sentences from 1, `start` is the sentence's offset in
    the item text, `sentence_text` the sentence), and one row with empty sentence, type, sub-tool and
    cue for an item without any: every item is coded or explicitly not. Cues never hold a sentence
    end, so matching each sentence finds exactly the cues of matching the whole item."""
    order = {tool: at for at, tool in enumerate(book.keys)}
    rows = []
    for item in items.itertuples(index=False):
        unit = unit_label(item.doc_id, item.section_no, item.item_no)
        base = {"doc_id": item.doc_id, "item_seq": int(item.item_seq), "unit": unit}
        coded = False
        for number, (start, text) in enumerate(sentences(str(item.text)), start=1):
            found: dict[str, list[str]] = {}
            for _, cue, tool in book.hits(text):
                found.setdefault(tool, [])
                if cue not in found[tool]:
                    found[tool].append(cue)
            rows.extend({**base, "sentence": number, "start": start, "type": book.group_of[tool], "sub_tool": tool,
                         "cue": "、".join(found[tool]), "sentence_text": text}
                        for tool in sorted(found, key=order.get))
            coded = coded or bool(found)
        if not coded:
            rows.append({**base, "sentence": pd.NA, "start": pd.NA, "type": "", "sub_tool": "", "cue": "",
                         "sentence_text": ""})
    frame = pd.DataFrame(rows, columns=CODE_COLUMNS).astype({"sentence": "Int64", "start": "Int64"})
    return frame.sort_values(["doc_id", "item_seq"], kind="stable").reset_index(drop=True)


def joined_cues(found: pd.Series) -> str:
    """The distinct cues of several codes (each "cue、cue"), in order of first appearance, joined by 、."""
    return "、".join(dict.fromkeys(c for cue in found for c in cue.split("、") if c))


def item_codes(codes: pd.DataFrame, book: Dictionary) -> pd.DataFrame:
    """The item level of sentence codes (code_items): one row per item × sub-tool (an item uses a
    sub-tool when any of its sentences does; its distinct cues in text order), sub-tools in codebook
    order, and the uncoded items' rows; ITEM_COLUMNS. The `codes` of the summaries, the X–Y matrix
    and the validation count these item × sub-tool codes."""
    order = {tool: at for at, tool in enumerate(["", *book.keys])}
    keys = ["doc_id", "item_seq", "sub_tool"]
    cues: dict[tuple, dict[str, None]] = {}  # a plain loop: a groupby aggregation took 5 s at 1,000 plans
    for key, cue in zip(zip(*(codes[k] for k in keys), strict=True), codes["cue"], strict=True):
        cues.setdefault(key, {}).update(dict.fromkeys(c for c in cue.split("、") if c))
    out = codes.drop_duplicates(keys)[[*keys, "unit", "type"]]
    out = out.assign(cue=["、".join(cues[key]) for key in zip(*(out[k] for k in keys), strict=True)])
    out = out.sort_values(["doc_id", "item_seq", "sub_tool"], kind="stable",
                          key=lambda column: column.map(order) if column.name == "sub_tool" else column)
    return out[ITEM_COLUMNS].reset_index(drop=True)
