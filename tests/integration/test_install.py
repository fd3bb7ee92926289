"""`pip install .` (not editable) into a fresh venv, run from another folder: it indexes the bundled
corpus into ./.rag_index there and answers from it, with no path inside site-packages.

The new venv reaches this interpreter's packages (torch, faiss, ...) through a .pth file of path
lines, so nothing is downloaded or reinstalled: a path line adds a folder to sys.path but runs none of
the .pth files in it, so an editable install of this checkout there stays inert, and the installed
copy is what runs (the test checks `rag.__file__`).
"""

from __future__ import annotations

import os
import re
import shutil
import site
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT

QUESTION = "How much did China earmark in loans for capacity cooperation?"
# what a wheel build needs of the checkout: the packages' sources, the corpus, the metadata files
NOT_COPIED = shutil.ignore_patterns(
    ".*", "tests", "docs", "test-artifacts", "build", "dist", "*.egg-info", "__pycache__", "*.db"
)


def _run(command: list[str], cwd: Path, env: dict[str, str], timeout: float = 300) -> str:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{command} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """A fresh venv with a non-editable install of a copy of this checkout, and a clean environment."""
    work = tmp_path_factory.mktemp("install")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_") and k != "PYTHONPATH"}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    venv = work / "venv"
    # no pip of its own: the setuptools that comes with it is older than the build needs; this one's runs
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], work, env)
    python = venv / "bin" / "python"
    purelib = _run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], work, env
    )
    (Path(purelib.strip()) / "zz_host_packages.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    setuptools = _run([str(python), "-c", "import setuptools; print(setuptools.__version__)"], work, env)
    assert int(setuptools.split(".")[0]) >= 77, f"the build needs setuptools>=77, found {setuptools}"
    source = work / "source"  # a copy: pip builds in the source folder, and the checkout stays clean
    shutil.copytree(PROJECT_ROOT, source, ignore=NOT_COPIED)
    command = [str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--no-index"]
    _run([*command, str(source)], work, env)
    return venv, env


@pytest.mark.slow
def test_the_installed_copy_runs_not_the_checkout(installed):
    venv, env = installed
    elsewhere = venv.parent / "elsewhere"
    elsewhere.mkdir(exist_ok=True)
    code = "import corpus, rag; print(rag.__file__); print(corpus.__file__)"
    printed = _run([str(venv / "bin" / "python"), "-c", code], elsewhere, env).split()
    assert all(Path(path).is_relative_to(venv) for path in printed), printed


@pytest.mark.slow
def test_an_installed_rag_indexes_the_bundled_corpus_in_the_working_directory(installed):
    venv, env = installed
    cwd = venv.parent / "user-folder"
    cwd.mkdir()
    rag = str(venv / "bin" / "rag")
    indexed = _run([rag, "index"], cwd, env)
    assert (cwd / ".rag_index").is_dir(), indexed
    assert re.search(r"documents\s+5\b", indexed), indexed  # the five bundled articles
    assert f"index written: {cwd / '.rag_index'}" in indexed
    answer = _run([rag, "ask", QUESTION], cwd, env)
    assert "$15 billion" in answer
    assert not list(venv.rglob(".rag_index")), "the index went into the venv"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "named"), [([], "RAG_DATASETS_DIR"), (["--data", "."], "--out DIR")], ids=["data", "out"]
)
def test_an_installed_rag_train_asks_for_what_it_would_write_or_read(installed, args, named):
    venv, env = installed
    done = subprocess.run(
        [str(venv / "bin" / "rag"), "train", *args], cwd=venv.parent, env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 1
    assert named in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


@pytest.mark.scale
@pytest.mark.slow
def test_ray_workers_of_an_installed_copy_import_it(installed):
    pytest.importorskip("ray")
    venv, env = installed
    cwd = venv.parent / "ray-folder"
    cwd.mkdir()
    # no PYTHONPATH reaches the actors: they embed only if they import the installed index.embed
    indexed = _run([str(venv / "bin" / "rag"), "index", "--ray"], cwd, env, timeout=600)
    assert re.search(r"embedded now\s+19 chunks in 5 documents", indexed), indexed
