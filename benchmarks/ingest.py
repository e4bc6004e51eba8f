"""Ingest under hostile input: HTML extraction time per MB (1 MB vs 10 MB) and peak memory of the bomb cases.

`python benchmarks/ingest.py [--src DIR]` prints one JSON object. Each case runs in a child process
(so its peak RSS is its own); `--src` points at another checkout's src/ to measure the code before a
change (its html_main_text may take no limits). The pages and bombs are built here, deterministically.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
CHILD = r"""
import inspect, io, json, resource, sys, time, zipfile, zlib
from pathlib import Path
case, root = sys.argv[1], Path(sys.argv[2])
from analysis.corpus import ingest
PARAGRAPH = "区教育局推进教育高质量发展，落实立德树人根本任务，深化课程改革。"
def page(mb):
    para = "<p>" + PARAGRAPH * 3 + "</p>\n"
    n = int(mb * 1_000_000 / len(para.encode()))
    return ("<html><body><div class='nav'>首页</div><div id='content'><h1>2025年工作要点</h1>"
            + para * n + "</div></body></html>").encode()
def call(function, data, name):
    limited = "limits" in inspect.signature(function).parameters
    if limited:
        from analysis.params.ingest import IngestParams
        return function(data, name, IngestParams.from_yaml(root / "params" / "ingest.yaml"))
    return function(data, name)
def docx_bomb():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
                   'package/2006/content-types"><Default Extension="xml" ContentType="application/'
                   'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>')
        with z.open("word/document.xml", "w") as member:  # written in chunks: building costs no memory
            member.write(b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
                         b"<w:body><w:p><w:r><w:t>")
            for _ in range(200):
                member.write(b"0" * 1_000_000)
            member.write(b"</w:t></w:r></w:p></w:body></w:document>")
    return out.getvalue()
start = time.perf_counter()
outcome = "accepted"
try:
    if case.startswith("html"):
        call(ingest.html_main_text, page(float(case[4:])), "x.html")
    elif case == "nested":
        nested = "<html><body>" + f"<div><p>{PARAGRAPH}" * 20_000 + "</body></html>"
        call(ingest.html_main_text, nested.encode(), "n.html")
    elif case == "docx":
        call(ingest.docx_text, docx_bomb(), "bomb.docx")
except Exception as exc:
    outcome = f"refused ({type(exc).__name__})"
print(json.dumps({"case": case, "seconds": round(time.perf_counter() - start, 2), "outcome": outcome,
                  "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))
"""


def run(case: str, src: Path, timeout: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(src)}
    try:
        done = subprocess.run([sys.executable, "-c", CHILD, case, str(src.parent)], env=env, capture_output=True,
                              text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"case": case, "outcome": f"stopped after {timeout} s"}
    return json.loads(done.stdout) if done.returncode == 0 else {"case": case, "outcome": done.stderr[-200:]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--src", default=str(HERE.parent / "src"))
    parser.add_argument("--cases", default="html1,html10,nested,docx")
    parser.add_argument("--timeout", type=int, default=300)
    args = parser.parse_args()
    print(json.dumps([run(case, Path(args.src), args.timeout) for case in args.cases.split(",")], ensure_ascii=False))


if __name__ == "__main__":
    main()
