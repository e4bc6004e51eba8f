"""The house rules of docs/ARCHITECTURE.md, checked on the source: layers import only downward, no
import circles, small modules with a one-line job, params read only by analysis.params, one CJK
range, and notebooks that call only views and publish."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "analysis"
NOTEBOOKS = ROOT / "notebooks"
MAX_LINES = 500

# Lower layers never import higher ones. Modules of the base may be imported by every layer.
LAYERS = {
    "base": 0, "params": 1, "corpus": 2, "text": 3, "stages": 4, "views": 5, "publish": 6, "top": 7,
}
BASE = {"paths", "files", "chars", "catalog"}
TOP = {"cli", "pipeline", "__main__", "__init__"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "top"
    if parts[1] in BASE or parts[1] in TOP:
        return "base" if parts[1] in BASE else "top"
    return parts[1]


def sources() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imported(tree: ast.AST, module: str, known: set[str]) -> set[str]:
    """The analysis modules a module imports, at top level or inside functions (resolved to modules)."""
    found: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            base = node.module
            if node.level:
                base = ".".join([*module.split(".")[: -node.level], node.module])
            names = [f"{base}.{alias.name}" for alias in node.names] + [base]
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name.startswith("analysis") and name != module:
                found.add(name)
    # string references such as "analysis.stages.themes:run_stage" in a stage registry
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            for match in re.findall(r"\b(analysis(?:\.\w+)+):\w+", node.value):
                if match in known and match != module:
                    found.add(match)
    return found


def import_graph() -> nx.DiGraph:
    modules = sources()
    known = set(modules)
    graph = nx.DiGraph()
    for module, path in modules.items():
        graph.add_node(module)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for target in imported(tree, module, known):
            # a package's __init__ importing nothing is the norm; parents of a module are not edges
            if not module.startswith(target + "."):
                graph.add_edge(module, target)
    return graph


def test_no_import_circles():
    cycles = [sorted(c) for c in nx.strongly_connected_components(import_graph()) if len(c) > 1]
    assert not cycles, f"import circles: {cycles}"


def test_layers_import_only_downward():
    upward = [
        f"{a} ({layer_of(a)}) imports {b} ({layer_of(b)})"
        for a, b in import_graph().edges
        if LAYERS[layer_of(b)] > LAYERS[layer_of(a)]
    ]
    assert not upward, "\n".join(upward)


def test_every_module_is_small_and_says_its_job():
    problems = []
    for module, path in sources().items():
        text = path.read_text(encoding="utf-8")
        if (lines := len(text.splitlines())) > MAX_LINES:
            problems.append(f"{module}: {lines} lines (at most {MAX_LINES})")
        doc = ast.get_docstring(ast.parse(text))
        if not doc or not doc.splitlines()[0].strip():
            problems.append(f"{module}: no one-line docstring saying its job")
    assert not problems, "\n".join(problems)


def test_params_files_are_read_only_by_the_params_package():
    yaml_name = re.compile(r"""["'][\w/]*\.yaml["']""")
    lookup = re.compile(r"""\bparams\[["']""")
    problems = []
    for module, path in sources().items():
        if module.startswith("analysis.params"):
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if yaml_name.search(line) and "metadata" not in line and "annotations" not in line:  # user files
                problems.append(f"{module}:{number}: names a params file: {line.strip()}")
            if lookup.search(line):
                problems.append(f"{module}:{number}: params[...] lookup: {line.strip()}")
    assert not problems, "\n".join(problems)


def test_one_cjk_range():
    literal = re.compile(r"\\u(?:4e00|3400|9fff)", re.IGNORECASE)
    found = [
        module for module, path in sources().items()
        if literal.search(path.read_text(encoding="utf-8")) and module != "analysis.chars"
    ]
    assert not found, f"CJK range written outside analysis.chars: {found}"


def notebook_code(path: Path) -> list[str]:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return ["".join(cell["source"]) for cell in cells if cell["cell_type"] == "code"]


@pytest.mark.parametrize("notebook", sorted(NOTEBOOKS.glob("[0-9]*.ipynb")), ids=lambda p: p.name)
def test_notebooks_call_only_views_and_publish(notebook: Path):
    problems = []
    for source in notebook_code(notebook):
        for match in re.finditer(r"^\s*(?:from|import)\s+(analysis[\w.]*)", source, re.MULTILINE):
            if not re.match(r"analysis\.(views|publish)\b", match.group(1)):
                problems.append(f"imports {match.group(1)}")
        if re.search(r"\blarge\b|is_large", source):
            problems.append("a cell chooses between small and large sets")
    assert not problems, f"{notebook.name}: " + "; ".join(problems)


def test_the_rules_catch_a_circle_and_an_upward_import(tmp_path):
    """The walker sees imports inside functions and resolves `from package import module`."""
    tree = ast.parse("def f():\n    from analysis.views import report\n")
    assert imported(tree, "analysis.stages.x", {"analysis.views", "analysis.views.report"}) == {
        "analysis.views.report", "analysis.views"}
    assert layer_of("analysis.views.report") == "views" and layer_of("analysis.paths") == "base"
    assert LAYERS[layer_of("analysis.views.report")] > LAYERS[layer_of("analysis.stages.x")]
