"""copytrace: find where news text was reused.

>>> from copytrace import Document, compare
>>> pair = compare(Document("a", text_a), Document("b", text_b))   # doctest: +SKIP
>>> pair.relation, [p.to_dict() for p in pair.passages]            # doctest: +SKIP
"""

from __future__ import annotations

__version__ = "0.1.0"

import os
from typing import TYPE_CHECKING, Any

# copytrace makes no BLAS call, but OpenBLAS (loaded by numpy, and by scipy, which numba imports
# when present) starts worker threads that spin and take CPU from a scan's processes (about
# 0.1 s of CPU a process). Set before numpy loads it, unless the user set it.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from .errors import ConfigError, CopytraceError, EngineError, InputError, StoreError
from .genealogy import Genealogy, TreeEdge, Variant, genealogy
from .read import read_inputs
from .scan import scan
from .types import Document, Edit, Family, Pair, Passage, Settings

if TYPE_CHECKING:
    from .pipeline import compare


def __getattr__(name: str) -> Any:
    # ``compare`` loads the compiled kernels (numba and LLVM, about 150 MB of resident memory):
    # imported when first used, so a process that only reads, writes or coordinates (the local
    # engine's parent while its workers run) never holds them
    if name == "compare":
        from .pipeline import compare

        return compare
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ConfigError",
    "CopytraceError",
    "Document",
    "Edit",
    "EngineError",
    "Family",
    "Genealogy",
    "InputError",
    "Pair",
    "Passage",
    "Settings",
    "StoreError",
    "TreeEdge",
    "Variant",
    "__version__",
    "compare",
    "genealogy",
    "read_inputs",
    "scan",
]
