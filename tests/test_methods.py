"""The methods section states the disclosure rules from the constants the code applies."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest

from kitbag_analysis.analysis.models import MIN_PARTICIPANTS_PER_ARM
from kitbag_analysis.pages.report import methods_html
from kitbag_analysis.sdc.cells import SUPPRESSED
from kitbag_analysis.sdc.rules import MIN_RESIDUAL_DF, subgroup_least
from kitbag_analysis.study.load import load_study


def _words(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


@pytest.mark.parametrize("threshold", [10, 15])
def test_methods_follow_the_rules(small_study_master: Path, threshold: int) -> None:
    study = load_study(small_study_master)
    study = replace(study, settings=replace(study.settings, sdc_threshold=threshold))
    text = _words(methods_html(SimpleNamespace(study=study, unit="all")))
    assert f"counts of people below {threshold} are shown as {SUPPRESSED}" in text
    assert f"shown only with at least {MIN_RESIDUAL_DF} residual degrees of freedom" in text
    assert f"is protected where it is 1 to {threshold - 1}" in text  # a shown total minus a shown part
    assert "No release of this study was recorded before this one." in text
    least = subgroup_least(threshold)
    assert least == max(MIN_PARTICIPANTS_PER_ARM, threshold)
    assert f"a level's effect is shown only with at least {least} analysed in each arm" in text
    assert "the interaction only where both levels are shown" in text
    assert f"an arm has fewer than {least} analysed there" in text
