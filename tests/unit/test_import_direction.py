"""Imports point the way the data flows: the data roles sit below training and eval, which never
import each other, and the answering core never imports the edges built on it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# package -> the packages none of its modules may import (at the top, in a function or for typing)
FORBIDDEN = {
    "qadata": {"train", "eval", "bench", "cli", "api"},
    "train": {"eval", "bench", "cli", "api"},
    "eval": {"train", "bench", "cli", "api"},
    "rag": {"api", "eval", "train", "bench", "cli", "qadata"},
}


def imported_packages(path: Path) -> set[str]:
    """The top-level package of every absolute import in a module."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_point_down(package: str) -> None:
    modules = sorted((ROOT / package).rglob("*.py"))
    assert modules, f"{package}/ holds no module"
    wrong = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) & FORBIDDEN[package]) for path in modules
    }
    assert {path: names for path, names in wrong.items() if names} == {}


def test_training_and_eval_both_read_the_data_roles() -> None:
    def users(package: str) -> list[str]:
        return [p.name for p in (ROOT / package).rglob("*.py") if "qadata" in imported_packages(p)]

    assert users("train") and users("eval")


def test_the_checker_sees_imports_inside_functions(tmp_path: Path) -> None:
    module = tmp_path / "lazy.py"
    module.write_text("def load():\n    from train.splits import SPLITS\n    import eval.runner\n")
    assert imported_packages(module) == {"train", "eval"}


OURS = {"index", "rag", "api", "cli", "bench", "eval", "train", "qadata", "corpus"}


def private_imports(path: Path) -> list[str]:
    """`module.name` for every underscore name a module imports from another of our modules."""
    return [
        f"{node.module}.{alias.name}"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in OURS
        for alias in node.names
        if alias.name.startswith("_") and not alias.name.startswith("__")
    ]


def test_no_module_imports_another_modules_private_names() -> None:
    found = {
        str(path.relative_to(ROOT)): private_imports(path)
        for package in sorted(OURS)
        for path in sorted((ROOT / package).rglob("*.py"))
    }
    assert {path: names for path, names in found.items() if names} == {}


def test_the_store_backends_do_not_import_each_other() -> None:
    for backend, other in (("milvus", "faiss"), ("faiss", "milvus")):
        modules = sorted((ROOT / "index" / "stores" / backend).rglob("*.py"))
        assert modules
        for path in modules:
            text = path.read_text(encoding="utf-8")
            assert f"index.stores.{other}" not in text, path
            assert "from index.store import" not in text and "from index.build import" not in text, path


def test_the_private_name_checker_finds_one(tmp_path: Path) -> None:
    module = tmp_path / "leaky.py"
    module.write_text("from index.embed import _helper, Embedder\nfrom os import _exit\n")
    assert private_imports(module) == ["index.embed._helper"]
