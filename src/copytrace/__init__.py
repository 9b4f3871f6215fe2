"""copytrace: find where news text was reused.

>>> from copytrace import Document, compare
>>> pair = compare(Document("a", text_a), Document("b", text_b))   # doctest: +SKIP
>>> pair.relation, [p.to_dict() for p in pair.passages]            # doctest: +SKIP
"""

from __future__ import annotations

__version__ = "0.1.0"

from .errors import ConfigError, CopytraceError, EngineError, InputError, StoreError
from .pipeline import compare
from .read import read_inputs
from .scan import scan
from .types import Document, Edit, Family, Pair, Passage, Settings

__all__ = [
    "ConfigError",
    "CopytraceError",
    "Document",
    "Edit",
    "EngineError",
    "Family",
    "InputError",
    "Pair",
    "Passage",
    "Settings",
    "StoreError",
    "__version__",
    "compare",
    "read_inputs",
    "scan",
]
