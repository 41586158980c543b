"""The Kitbag evaluation workbench: load a study, analyse it, report it."""

from kitbag_analysis.study.load import Study, load_study

__version__ = "0.1.0"
__all__ = ["Study", "__version__", "load_study"]
