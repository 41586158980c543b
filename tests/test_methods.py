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


@pytest.mark.parametrize("unit", ["all", "bexley"])
def test_methods_state_the_small_sample_inference(small_study_master: Path, unit: str) -> None:
    """§4 revised, in words: t on J − g₂ − 2 df, the bias-reduced sandwich, 5 donors for MI."""
    from kitbag_analysis.analysis.whatworks.missing_data import MI_DONORS

    text = _words(methods_html(SimpleNamespace(study=load_study(small_study_master), unit=unit)))
    assert "estimate ± t 0.975 (df) × SE" in text
    assert "the between-within degrees of freedom df = J − g₂ − 2" in text
    assert "bias-reduced sandwich of Mancl and DeRouen" in text
    assert ("the local-authority terms" if unit == "all" else "g₂ 0 (no local-authority terms)") in text
    assert f"predictive mean matching from the {MI_DONORS} nearest donors" in text
    assert "1.959964" not in text and "normal distribution" not in text
