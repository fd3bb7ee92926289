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
