"""The package's floor plan holds: rooms import only the rooms beneath them, no module imports
itself back round a cycle (imports inside functions count), modules stay short, every RAG_*
variable is read in rag/config.py and every word is stemmed by rag/text.py."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# each room may import the rooms before it in this list (and itself), never one after it
ROOMS = ["rag.errors", "rag.config", "rag.types", "rag.text", "rag.models", "rag.ingest", "rag.storage",
         "rag.answering", "rag.pipeline", "rag.evaluation", "rag.mcp", "rag.cli", "rag", "ui"]


def modules() -> dict[str, Path]:
    out = {}
    for top in ("rag", "ui"):
        for path in sorted((ROOT / top).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The project modules `name` imports anywhere in its file (functions included)."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([base] if base else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        else:
            continue
        found |= {t for t in targets if t in known and t != name}
    return found


def room(name: str) -> int:
    return max(i for i, r in enumerate(ROOMS) if name == r or name.startswith(r + "."))


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    mods = modules()
    return {n: imports(n, p, set(mods)) for n, p in mods.items()}


def test_no_import_cycle_even_through_imports_inside_functions(graph):
    state: dict[str, int] = {}

    def visit(n: str, trail: list[str]) -> None:
        state[n] = 1
        for m in sorted(graph[n]):
            assert state.get(m) != 1, "import cycle: " + " -> ".join(trail[trail.index(m):] + [m])
            if m not in state:
                visit(m, trail + [m])
        state[n] = 2

    for n in graph:
        if n not in state:
            visit(n, [n])


def test_a_room_imports_only_the_rooms_beneath_it(graph):
    upward = [(n, m) for n, ms in graph.items() for m in ms if room(m) > room(n)
              and not (n == "rag" and m.startswith("rag."))]  # the public API names what it offers, lazily
    assert not upward


def test_the_ui_uses_only_rags_public_api(graph):
    assert {m for n, ms in graph.items() if n.startswith("ui") for m in ms if m.startswith("rag")} <= {"rag"}


def test_no_module_passes_300_lines():
    assert {str(p.relative_to(ROOT)): n for p in modules().values() if (n := len(p.read_text().splitlines())) > 300} \
        == {}


def test_environment_variables_are_read_in_the_config_only():
    readers = {str(p.relative_to(ROOT)) for p in modules().values()
               if re.search(r"environ(\.get)?\s*[\[(]\s*[\"']RAG_|getenv\(\s*[\"']RAG_", p.read_text())}
    assert readers == set()  # rag/config.py reads them through its ENV table, by name
    assert "RAG_" in (ROOT / "rag" / "config.py").read_text()


def test_one_stemmer_and_one_sentence_splitter():
    for p in modules().values():
        if p.name != "text.py":
            text = p.read_text()
            assert "import Stemmer" not in text and "bm25s.tokenize" not in text, p
            assert not re.search(r"re\.split\(r\"\(\?<=\[\.!\?\]", text), p  # sentences come from rag/text.py


def test_no_room_shadows_a_name_of_the_public_api():
    """A subpackage named like a public function would replace it on `rag` once imported
    (`rag.answer` the room over `rag.answer` the function)."""
    import rag
    import rag.evaluation.run  # noqa: F401 - imports every room
    import rag.pipeline  # noqa: F401

    rooms = {p.name for p in (ROOT / "rag").iterdir() if (p / "__init__.py").exists()}
    assert not rooms & set(rag.__all__)
    assert all(callable(getattr(rag, n)) for n in ("answer", "stream_answer", "documents", "add_documents"))
