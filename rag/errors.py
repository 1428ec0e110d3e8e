"""The package's exceptions: one base class, a few precise kinds.

Callers catch `RagError` for anything the package raises on purpose; the message is
written for the person at the keyboard and says what to do next.
"""


class RagError(Exception):
    """Base class of every error raised on purpose by `rag`."""


class QuestionError(RagError, ValueError):
    """The question cannot be answered as given (empty, not text)."""


class BadIndexError(RagError):
    """The index on disk is missing, corrupted or was built with other settings."""


class IndexWriteError(BadIndexError):
    """The index could not be written (disk full, folder read-only); the previous one stays."""


class ModelError(RagError):
    """A model could not be loaded (package missing, broken cache)."""


class ConfigError(RagError, ValueError):
    """A setting (an environment variable such as RAG_STORE) has a value that cannot work."""
