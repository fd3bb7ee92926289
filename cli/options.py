"""Options shared by several subcommands, and how they override the settings."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rag.settings import Settings, get_settings

IndexDirOption = Annotated[
    Path | None, typer.Option("--index-dir", help="Index folder [env: RAG_INDEX_DIR]", show_default=False)
]
ModelOption = Annotated[
    str | None,
    typer.Option("--model", help="Embedding model name or local path [env: RAG_MODEL]", show_default=False),
]


def settings_with(**overrides: object) -> Settings:
    """The environment's settings with the CLI flags that were given laid over them."""
    given = {k: v for k, v in overrides.items() if v is not None}
    return get_settings().model_copy(update=given)
