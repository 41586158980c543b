"""The Kitbag evaluation workbench: load a study, analyse it, report it.

`load_study` and `Study` are imported on first use (PEP 562), so that `kitbag` can take a
Ctrl-C from its first instant, before pandas and the contracts are imported (`cli`).
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing itself is not imported: start-up is kept to the bare minimum
if TYPE_CHECKING:
    from kitbag_analysis.study.load import Study, load_study

__version__ = "0.1.0"
__all__ = ["Study", "__version__", "load_study"]


def __getattr__(name: str) -> object:
    if name in ("Study", "load_study"):
        from kitbag_analysis.study import load

        return getattr(load, name)
    raise AttributeError(f"module 'kitbag_analysis' has no attribute {name!r}")
