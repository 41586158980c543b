"""§7.4: which teams used Kitbags, compliance per arm and the CACE rules."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from handmade import hexid, withdrawal, write_folder

from kitbag_analysis.analysis.models import Fit
from kitbag_analysis.analysis.whatworks.compliance import cace, compliance_counts, team_use, teams_using
from kitbag_analysis.study.load import load_study
from kitbag_analysis.study.units import restrict


def _counts(used: dict[str, tuple[int, int]]) -> pd.DataFrame:
    """Counts where every θ has the same (used, not used) per arm."""
    rows = [("sdq_total", "children", t, arm, u, nu) for t in (0.25, 0.5, 0.75) for arm, (u, nu) in used.items()]
    return pd.DataFrame(rows, columns=["outcome", "population", "theta", "arm", "used", "not_used"])


FIT = Fit("mixedlm", estimate=-1.2, se=0.4, df_resid=100, df=28)


def test_cace_is_itt_when_compliance_is_one_against_zero() -> None:
    out = cace(FIT, _counts({"kitbag": (40, 0), "control": (0, 38)}))
    lo, hi = FIT.ci
    for entry in out.values():
        assert entry.status == "ok"
        assert entry.compliance == {"kitbag": 1.0, "control": 0.0}
        assert (entry.value, entry.ci_low, entry.ci_high) == (FIT.estimate, lo, hi)


def test_cace_divides_by_the_difference_in_compliance() -> None:
    out = cace(FIT, _counts({"kitbag": (30, 10), "control": (5, 15)}))["0.5"]  # 0.75 - 0.25 = 0.5
    assert out.value == pytest.approx(-2.4)
    assert out.ci_low == pytest.approx(FIT.ci[0] / 0.5)


def test_cace_not_estimable_below_a_difference_of_one_fifth() -> None:
    below = cace(FIT, _counts({"kitbag": (19, 81), "control": (0, 50)}))["0.5"]  # 0.19
    assert below.status == "not_estimable" and below.value is None
    assert "less than 0.2" in below.reason
    at = cace(FIT, _counts({"kitbag": (6, 4), "control": (4, 6)}))["0.5"]  # 0.6 - 0.4: exactly 0.2
    assert at.status == "ok" and at.value == pytest.approx(-6.0)
    nobody = cace(FIT, _counts({"kitbag": (0, 0), "control": (0, 5)}))["0.5"]
    assert nobody.status == "not_estimable"


def _practitioners(folder: Path) -> Path:
    """Three teams: T01 (kitbag) 4 practitioners answering often, often, never, rarely (share 1/2)
    plus one not_asked; T02 (kitbag) 4 answering sometimes x3 and never (3/4); T03 (control)
    answers never and rarely (0), one practitioner withdrawn who said often."""
    teams = [
        {"team_id": f"BEX-T0{k}", "local_authority": "bexley", "arm": arm, "randomised_on": "2021-06-01"}
        for k, arm in ((1, "kitbag"), (2, "kitbag"), (3, "control"))
    ]
    answers = {
        1: ("BEX-T01", "often"),
        2: ("BEX-T01", "often"),
        3: ("BEX-T01", "never"),
        4: ("BEX-T01", "rarely"),
        5: ("BEX-T01", "not_asked"),
        6: ("BEX-T02", "sometimes"),
        7: ("BEX-T02", "sometimes"),
        8: ("BEX-T02", "sometimes"),
        9: ("BEX-T02", "never"),
        10: ("BEX-T03", "never"),
        11: ("BEX-T03", "rarely"),
        12: ("BEX-T03", "often"),
    }
    practitioners = [
        {"practitioner_id": hexid("P", k), "team_id": t, "role": "social_worker"} for k, (t, _) in answers.items()
    ]
    measures = [
        {"practitioner_id": hexid("P", k), "wave": "followup", "completed_on": "2022-05-20", "kitbag_use": use}
        for k, (_, use) in answers.items()
    ]
    consent = [withdrawal(hexid("P", 12), "practitioner")]
    return write_folder(
        folder, teams=teams, practitioners=practitioners, practitioner_measures=measures, consent=consent
    )


def test_team_use_by_hand(tmp_path: Path) -> None:
    view = restrict(load_study(_practitioners(tmp_path / "s")), "bexley")
    use = team_use(view)
    assert use.loc["BEX-T01"].tolist() == [4, 2]  # not_asked does not count as an answer
    assert use.loc["BEX-T02"].tolist() == [4, 3]
    assert use.loc["BEX-T03"].tolist() == [2, 0]  # the withdrawn practitioner's "often" is gone
    assert list(teams_using(use, 0.25)) == ["BEX-T01", "BEX-T02"]
    assert list(teams_using(use, 0.5)) == ["BEX-T01", "BEX-T02"]  # at least θ: 2/4 counts
    assert list(teams_using(use, 0.75)) == ["BEX-T02"]


def test_compliance_counts_of_analysed_participants(tmp_path: Path) -> None:
    view = restrict(load_study(_practitioners(tmp_path / "s")), "bexley")
    frame = pd.DataFrame({"team_id": ["BEX-T01"] * 3 + ["BEX-T02"] * 2 + ["BEX-T03"] * 4, "arm": [1] * 5 + [0] * 4})
    counts = compliance_counts(view, {"gse_practitioner": frame}).set_index(["theta", "arm"])
    assert counts.loc[(0.75, "kitbag"), ["used", "not_used"]].tolist() == [2, 3]
    assert counts.loc[(0.5, "kitbag"), ["used", "not_used"]].tolist() == [5, 0]
    assert counts.loc[(0.5, "control"), ["used", "not_used"]].tolist() == [0, 4]
