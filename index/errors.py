"""The one exception tree of the project.

RagError
 ├── InputError                 bad input from a user: a file, a question, a parameter
 │    ├── UnsupportedFileError   a file that cannot be ingested (binary, empty, only boilerplate…)
 │    ├── InvalidDocIdError      a document id with path characters or other forbidden text
 │    └── QuestionError          an empty, oversized or otherwise unusable question
 ├── NotFoundError              a document id that is not in the index
 ├── IndexError_                problems with the index on disk
 │    ├── IndexMissingError      no index has been built at the configured place
 │    ├── IndexMismatchError     built with another model, dimension or format version
 │    ├── IndexCorruptError      files missing, truncated or inconsistent
 │    ├── IndexLockedError       another process is writing the index
 │    └── StoreConnectionError   the Milvus store cannot be reached, refuses the token or fails a call
 ├── ModelError                 the embedding model or tokenizer cannot be loaded
 └── LLMError                   the optional generative endpoint failed or answered badly
"""

from __future__ import annotations

REBUILD_HINT = "run `rag index --rebuild` to build it again"


class RagError(Exception):
    """Base class of every error this project raises on purpose."""


class InputError(RagError):
    """The user gave input we cannot use."""


class UnsupportedFileError(InputError):
    """A file that cannot be ingested."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class InvalidDocIdError(InputError):
    """A document id that is not safe or not well formed."""


class QuestionError(InputError):
    """A question that cannot be answered as given."""


class NotFoundError(RagError):
    """Something named by the user does not exist."""


class IndexError_(RagError):  # not IndexError: the builtin means something else
    """The index on disk cannot be used."""


class IndexMissingError(IndexError_):
    """No index has been built yet."""


class IndexMismatchError(IndexError_):
    """The index was built with settings that do not match the current ones."""


class IndexCorruptError(IndexError_):
    """Index files are missing, truncated or inconsistent."""


class IndexLockedError(IndexError_):
    """Another process holds the index write lock."""


class StoreConnectionError(IndexError_):
    """The Milvus server cannot be reached, refuses the credentials, or fails a call."""


class ModelError(RagError):
    """The embedding model or the tokenizer cannot be loaded."""


class LLMError(RagError):
    """The optional generative endpoint failed."""


def one_line(exc: BaseException, limit: int = 600) -> str:
    """An exception as one line: its type and message, whitespace collapsed, cut to `limit` characters."""
    message = " ".join(str(exc).split())
    text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"
