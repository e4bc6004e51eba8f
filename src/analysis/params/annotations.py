"""data/annotations/codings.yaml: who made each reference coding, how, when, against which codebook and dictionary."""

from __future__ import annotations

import datetime
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from analysis.params.loader import read_yaml
from analysis.paths import ProjectError

SCHEMES = ("themes", "policy_tools")  # what a coding codes: the theme lexicon's themes, the policy sub-tools
KINDS = {"automated": "自动编码者（语言模型代理）automated coder (language-model agent)",
         "human": "人类编码员 human coder"}
SAMPLES = {"in_sample": "样本内（词典在这些条目上调整过）in-sample: the dictionary was tuned on these items",
           "held_out": "样本外（词典冻结后编码）held-out: coded after the dictionary was frozen"}
COUNTS = ("single", "multiple")
REQUIRED = ("file", "schemes", "coder", "coder_kind", "coders", "date", "codebook", "sample")
OPTIONAL = ("dictionary_sha256", "adjudicates", "order")
SHA = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class CodingRecord:
    """One coding file under data/annotations and how it was made."""

    file: str  # relative to data/annotations
    schemes: tuple[str, ...]  # of SCHEMES
    coder: str
    coder_kind: str  # of KINDS: never call an automated coder's coding 人工/hand coding
    coders: str  # single | multiple (an adjudicated coding of several coders)
    date: str  # YYYY-MM-DD
    codebook: str  # the codebook version coded against
    sample: str  # of SAMPLES
    dictionary_sha256: dict[str, str] = field(default_factory=dict)  # scheme → the dictionary file's hash at freezing
    adjudicates: tuple[str, ...] = ()  # the coder files an adjudicated coding settles
    order: str = ""  # what was written first: the dictionary or the coding (one true statement)

    @property
    def automated(self) -> bool:
        return self.coder_kind == "automated"

    def as_yaml(self) -> dict[str, Any]:
        """The record as codings.yaml writes it (empty optional keys left out)."""
        data = asdict(self) | {"schemes": list(self.schemes), "adjudicates": list(self.adjudicates)}
        return {key: value for key, value in data.items() if key in REQUIRED or value}


def _problems(where: str, entry: Any) -> list[str]:
    """What is wrong with one entry of codings.yaml, one line each."""
    if not isinstance(entry, dict):
        return [f"{where}: each coding is a mapping of {', '.join(REQUIRED)}"]
    problems = [f"{where}: missing key {key}; add it" for key in REQUIRED if key not in entry]
    problems += [f"{where}: unknown key {key}; allowed: {', '.join(REQUIRED + OPTIONAL)}"
                 for key in entry if key not in REQUIRED + OPTIONAL]
    if problems:
        return problems
    checks = {
        "file": isinstance(entry["file"], str) and re.fullmatch(r"[\w./-]+\.csv", entry["file"]) is not None
        and ".." not in entry["file"],
        "schemes": isinstance(entry["schemes"], list) and bool(entry["schemes"])
        and all(s in SCHEMES for s in entry["schemes"]),
        "coder": isinstance(entry["coder"], str) and bool(entry["coder"].strip()),
        "coder_kind": entry["coder_kind"] in KINDS,
        "coders": entry["coders"] in COUNTS,
        "date": isinstance(entry["date"], (str, datetime.date)) and _is_date(str(entry["date"])),
        "codebook": isinstance(entry["codebook"], str) and bool(entry["codebook"].strip()),
        "sample": entry["sample"] in SAMPLES,
    }
    allowed = {"file": "a .csv name under data/annotations", "schemes": f"a list of {', '.join(SCHEMES)}",
               "coder": "a name", "coder_kind": " or ".join(KINDS), "coders": " or ".join(COUNTS),
               "date": "a date YYYY-MM-DD", "codebook": "the codebook version", "sample": " or ".join(SAMPLES)}
    problems = [f"{where}: {key} must be {allowed[key]}, not {entry[key]!r}" for key, ok in checks.items() if not ok]
    hashes = entry.get("dictionary_sha256", {})
    if not (isinstance(hashes, dict) and all(k in SCHEMES and isinstance(v, str) and SHA.fullmatch(v)
                                             for k, v in hashes.items())):
        problems.append(f"{where}: dictionary_sha256 must map a scheme to a 64-digit hex SHA-256")
    elif entry["sample"] == "held_out" and set(entry["schemes"]) - set(hashes):
        problems.append(f"{where}: a held_out coding records dictionary_sha256 for each of its schemes")
    return problems


def _is_date(text: str) -> bool:
    try:
        datetime.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def load_codings(path: Path) -> tuple[CodingRecord, ...]:
    """Every coding record of `path` (none when the file is absent); anchors/aliases, unknown keys
    and wrong values are one ProjectError line each, naming the file."""
    path = Path(path)
    if not path.is_file():
        return ()
    data = read_yaml(path)
    if not isinstance(data, dict) or set(data) != {"codings"} or not isinstance(data["codings"], list):
        raise ProjectError(f"{path}: expected one key `codings` holding a list of codings")
    problems = [line for at, entry in enumerate(data["codings"], start=1)
                for line in _problems(f"{path}: coding {at}", entry)]
    files = [entry["file"] for entry in data["codings"] if isinstance(entry, dict) and "file" in entry]
    problems += [f"{path}: file {name} is recorded twice; keep one record" for name in sorted(set(files))
                 if files.count(name) > 1]
    if problems:
        raise ProjectError(*problems)
    return tuple(CodingRecord(**(entry | {"date": str(entry["date"]), "schemes": tuple(entry["schemes"]),
                                           "adjudicates": tuple(entry.get("adjudicates", ()))}))
                 for entry in data["codings"])


def codings_text(records: tuple[CodingRecord, ...], header: str) -> str:
    """codings.yaml's text for `records`, below the comment `header`."""
    body = yaml.safe_dump({"codings": [r.as_yaml() for r in records]}, allow_unicode=True, sort_keys=False, width=100)
    return header + body


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes (a dictionary file at freezing)."""
    import hashlib

    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
