"""Where the code runs from (a source checkout or an installed copy) and the data it ships.

An installed copy (`pip install .`, a wheel) lives in site-packages, where nothing may be written
and no project folders sit beside it: the index goes to the working directory, the bundled corpus
is read as package data, and datasets are named by the user. A source checkout keeps its own
folders: docs/benchmarks.md, and the team's datasets in ../shared/datasets beside it.
"""

from __future__ import annotations

import os
import tomllib
from importlib import util
from pathlib import Path

from index.errors import InputError

PROJECT_NAME = "numrag"
# the folder that holds the packages (index/, rag/, ...): a checkout's root or site-packages
SOURCE_ROOT = Path(__file__).resolve().parent.parent


def checkout_root() -> Path | None:
    """The source checkout this code runs from, or None for an installed copy.

    A checkout is told by its pyproject.toml naming this project beside the packages; site-packages
    holds no pyproject.toml.
    """
    pyproject = SOURCE_ROOT / "pyproject.toml"
    if not pyproject.is_file():
        return None
    try:
        name = tomllib.loads(pyproject.read_text()).get("project", {}).get("name")
    except (OSError, tomllib.TOMLDecodeError):
        return None
    return SOURCE_ROOT if name == PROJECT_NAME else None


def bundled_corpus_dir() -> Path:
    """The folder of the bundled articles: a checkout's corpus/, or the installed `corpus` data package."""
    root = checkout_root()
    if root is not None:
        return root / "corpus"
    # find_spec locates the package without importing it, so no __pycache__ lands among the articles;
    # a spec with no origin is a namespace package (some folder named corpus), not the bundled one
    spec = util.find_spec("corpus")
    if spec is None or spec.origin is None or not spec.submodule_search_locations:
        raise InputError("the bundled corpus is not installed; pass the files or folders to index")
    return Path(next(iter(spec.submodule_search_locations)))


def checkout_datasets_dir() -> Path | None:
    """The team's datasets folder beside a source checkout (../shared/datasets); None when installed."""
    root = checkout_root()
    return None if root is None else root.parent / "shared" / "datasets"


def datasets_dir(given: Path | None) -> Path:
    """The public QA datasets folder: the one given (--data, RAG_DATASETS_DIR), else a checkout's."""
    found = given or checkout_datasets_dir()
    if found is None:
        raise InputError(
            "no datasets folder given; pass --data DIR (or set RAG_DATASETS_DIR) to the folder holding "
            "the public QA datasets"
        )
    return found


def with_checkout_on_path(pythonpath: str | None) -> str | None:
    """PYTHONPATH for a child process: a checkout's root first, so an uninstalled checkout imports
    itself; an installed copy is found by the interpreter and adds nothing."""
    root = checkout_root()
    if root is None:
        return pythonpath
    return os.pathsep.join(filter(None, [str(root), pythonpath]))
