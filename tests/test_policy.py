"""The disclosure policy of analysis-plan.md §6.2 (`sdc.policy`, study.toml `[disclosure]`): zeros,
the trial-process counts published exactly, merged categories, and a pattern that finishes."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from data_contracts.settings import Disclosure, read_settings
from kitbag_analysis.cli import main
from kitbag_analysis.errors import UnusableInput
from kitbag_analysis.sdc.attack import audit
from kitbag_analysis.sdc.cells import CellKey
from kitbag_analysis.sdc.linked import Identity, LinkedSet, linked_set
from kitbag_analysis.sdc.pattern import GREEDY, OPTIMAL, primary_cells, suppression_pattern
from kitbag_analysis.sdc.policy import STRICT, exact, trial_process
from kitbag_analysis.study.load import load_study


def _with_disclosure(study: Path, text: str) -> Path:
    with (study / "study.toml").open("a", encoding="utf-8") as handle:
        handle.write("\n[disclosure]\n" + textwrap.dedent(text))
    return study


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('zeros = "never"\n', "`zeros` must be one of"),
        ('flow = "open"\n', "`flow` must be one of"),
        ("colour = 1\n", "entry 1 is not one of its keys"),
        ("time_limit_seconds = 0\n", "`time_limit_seconds` must be"),
        ('merge = { shoe_size = [["a", "b"]] }\n', "not a characteristic that can be merged"),
        ('merge = { gender = [["other"]] }\n', "each of two or more of its codes"),
        ('merge = { gender = [["other", "martian"]] }\n', "each of two or more of its codes"),
        ('merge = { gender = [["other", "male"], ["male", "female"]] }\n', "each code in one list at most"),
    ],
)
def test_a_bad_disclosure_table_is_refused_naming_the_key(study: Path, text: str, words: str) -> None:
    _with_disclosure(study, text)
    with pytest.raises(UnusableInput, match=words.replace("`", ".").replace("(", ".")):
        read_settings(study)
    assert main(["validate", str(study)]) == 2


def test_the_defaults_and_a_declared_policy(study: Path) -> None:
    assert read_settings(study).disclosure == Disclosure("safe", "exact", (), 60)
    _with_disclosure(
        study, 'zeros = "disclosive"\nflow = "protected"\nmerge = { gender = [["other", "not_recorded"]] }\n'
    )
    policy = read_settings(study).disclosure
    assert (policy.zeros_safe, policy.flow_exact) == (False, False)
    assert policy.recode("gender") == {"other": "other+not_recorded", "not_recorded": "other+not_recorded"}


def test_trial_process_counts_are_the_flow_and_what_equals_or_refines_it() -> None:
    assert trial_process(CellKey("all", "participant_flow", "children", "enrolled", "kitbag"))
    assert trial_process(CellKey("bexley", "effectiveness", "children", "sdq_total", "control"))
    assert trial_process(CellKey("bexley", "uptake", "carers", "answered", "kitbag"))
    assert trial_process(CellKey("bexley", "baseline", "children", "baseline sdq_total", "kitbag"))
    assert not trial_process(CellKey("bexley", "baseline", "children", "gender: other", "kitbag"))
    assert not trial_process(CellKey("bexley", "uptake", "carers", "never", "kitbag"))
    assert not trial_process(CellKey("bexley", "compliance", "children", "sdq_total theta 0.5", "kitbag used"))
    key = CellKey("all", "participant_flow", "children", "enrolled", "kitbag")
    assert exact(Disclosure(), key) and not exact(STRICT, key)


def _toy(policy: Disclosure) -> LinkedSet:
    """An LA's children: included (exact) = female + male + other; two LAs and their sum."""
    values = {}
    identities = []
    for unit, (female, male, other) in {"a": (40, 3, 0), "b": (30, 25, 12), "all": (70, 28, 12)}.items():
        keys = [CellKey(unit, "baseline", "children", f"gender: {g}", "kitbag") for g in ("female", "male", "other")]
        included = CellKey(unit, "participant_flow", "children", "included", "kitbag")
        values |= dict(zip(keys, (female, male, other), strict=True)) | {included: female + male + other}
        identities.append(Identity(included, tuple(keys)))
    for g in ("female", "male", "other"):
        total = CellKey("all", "baseline", "children", f"gender: {g}", "kitbag")
        identities.append(
            Identity(total, tuple(CellKey(u, "baseline", "children", f"gender: {g}", "kitbag") for u in "ab"))
        )
    included = CellKey("all", "participant_flow", "children", "included", "kitbag")
    identities.append(
        Identity(included, tuple(CellKey(u, "participant_flow", "children", "included", "kitbag") for u in ("a", "b")))
    )
    return LinkedSet(values=values, identities=identities, policy=policy)


def test_zeros_safe_and_the_flow_exact_change_the_primaries_and_keep_the_audit() -> None:
    default, strict = _toy(Disclosure()), _toy(STRICT)
    zero = CellKey("a", "baseline", "children", "gender: other", "kitbag")
    three = CellKey("a", "baseline", "children", "gender: male", "kitbag")
    assert primary_cells(default, 10) == {three}
    assert primary_cells(strict, 10) == {three, zero}  # strict: every zero is primary, as ACRO's default
    for linked in (default, strict):
        pattern = suppression_pattern(linked, 10)
        assert not audit(pattern.intervals, 10) or linked is default  # the strict one meets the threshold
        assert three in pattern.suppressed
    pattern = suppression_pattern(default, 10)
    flow = {k for k in default.values if k.table == "participant_flow"}
    assert not flow & pattern.suppressed  # the flow is published exactly
    assert pattern.method == OPTIMAL


def test_a_time_limit_too_short_for_the_optimum_gets_the_greedy_fallback_which_the_audit_proves(
    small_study_master: Path,
) -> None:
    linked = linked_set(load_study(small_study_master))
    optimum = suppression_pattern(linked, 10)
    fallback = suppression_pattern(linked, 10, time_limit=0)
    assert optimum.method == OPTIMAL and fallback.method == GREEDY
    assert fallback.primary == optimum.primary  # the same people protected
    hidden = fallback.suppressed | linked.complements  # (a total minus its part is never published)
    published = {k: (None if k in hidden else v) for k, v in linked.values.items()}
    from kitbag_analysis.sdc.attack import Required, feasible_intervals

    identities = [(i.total, i.parts) for i in linked.identities]
    intervals = feasible_intervals(published, identities, linked.bounds)
    known = {k: (v if k in linked.exact else None) for k, v in linked.values.items()}
    required = Required(known, identities, linked.bounds, 10)
    assert not audit(intervals, 10, required.of(intervals, 10))  # re-solved exactly: every cell protected


def test_the_strict_policy_keeps_todays_primary_cells(small_study_master: Path, tmp_path: Path) -> None:
    study = tmp_path / "study"
    shutil.copytree(small_study_master, study)
    _with_disclosure(study, 'zeros = "disclosive"\nflow = "protected"\n')
    linked = linked_set(load_study(study))
    assert not linked.exact
    assert primary_cells(linked, 10) == {k for k, v in linked.values.items() if v < 10}  # zero included


def test_merge_recodes_a_characteristic_in_every_unit(small_study_master: Path, tmp_path: Path) -> None:
    from kitbag_analysis.analysis.analyse import analyse
    from kitbag_analysis.sdc.release import make_release

    study = tmp_path / "study"
    shutil.copytree(small_study_master, study)
    _with_disclosure(study, 'merge = { gender = [["other", "not_recorded"]] }\n')
    loaded = load_study(study)
    for unit in ("bexley", "all"):
        table = make_release(loaded, analyse(loaded, unit), frozenset()).tables["baseline"]
        labels = [row[1] for row in table.rows if isinstance(row[1], str) and row[1].startswith("Gender")]
        assert labels == ["Gender: Female", "Gender: Male", "Gender: Other or Not recorded"]


HARD = """
import numpy as np, sys
from scipy.optimize import Bounds, LinearConstraint
from kitbag_analysis.cli import signals
from kitbag_analysis.sdc.solver import solve_interruptibly
signals.during()
rng = np.random.default_rng(1)
a = rng.integers(0, 100, size=(5, 50)); b = a.sum(axis=1) // 2  # a market-split programme: hard
print("solving", flush=True)
try:
    solve_interruptibly(np.zeros(50), constraints=LinearConstraint(a, b, b), integrality=np.ones(50),
                        bounds=Bounds(0, 1), options={"time_limit": 300})
except signals.Terminated:
    sys.exit(143)
"""


def test_sigterm_while_highs_solves_ends_the_process_and_its_solver() -> None:
    """HiGHS holds the interpreter while it solves; the programme runs in a child, so SIGTERM is
    handled at once and the child goes with the run (the programme alone would run 300 s)."""
    proc = subprocess.Popen([sys.executable, "-c", HARD], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "solving"
    children: list[int] = []
    for _ in range(200):  # wait until the solver's child exists
        children = [int(p) for p in Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()]
        if children:
            break
        time.sleep(0.05)
    assert children
    os.kill(proc.pid, signal.SIGTERM)
    assert proc.wait(timeout=60) == 143  # (well before the programme's 300 s)
    for _ in range(100):
        if not Path(f"/proc/{children[0]}").exists():
            break
        time.sleep(0.05)
    assert not Path(f"/proc/{children[0]}").exists() or "Z" in Path(f"/proc/{children[0]}/stat").read_text().split()[2]


def test_summary_json_and_release_json_carry_the_policy_and_what_is_lost(small_bundle: Path) -> None:
    summary = json.loads((small_bundle / "all" / "sdc" / "summary.json").read_text())
    assert summary["disclosure"]["zeros"] == "safe" and summary["disclosure"]["flow"] == "exact"
    assert summary["disclosure"]["threshold"] == 10 and summary["disclosure"]["tool_version"]
    lost = summary["lost"]
    assert lost["key_results"]["flow counts"]["hidden"] == 0 and lost["key_results"]["flow counts"]["shown"] > 0
    assert lost["cells"]["hidden"] == sum(t["hidden"] for t in lost["tables"].values())
    assert (
        summary["audit"]["method"] == OPTIMAL and summary["audit"]["seconds"] <= summary["audit"]["time_limit_seconds"]
    )
    release = json.loads((small_bundle / "all" / "release.json").read_text())
    assert release["disclosure"] == summary["disclosure"]
    page = (small_bundle / "all" / "sdc" / "summary.html").read_text()
    assert "What is lost" in page and "Disclosure policy" in page


def test_the_pattern_shows_its_progress_on_a_terminal_only(small_study_master: Path, monkeypatch) -> None:
    """A line per round, rewritten in place, ended when the pattern is found; nothing in a pipe."""
    import io

    from rich.console import Console

    from kitbag_analysis.cli import commands

    for terminal in (True, False):
        sink = io.StringIO()
        monkeypatch.setattr(commands, "err", Console(file=sink, force_terminal=terminal))
        commands._show_progress()
        suppression_pattern(linked_set(load_study(small_study_master)), 10)
        text = sink.getvalue()
        if terminal:
            assert "\rkitbag: disclosure pattern: round 1, " in text
            assert text.rstrip("\n").rsplit("\r", 1)[1].startswith("kitbag: disclosure pattern found: optimal")
            assert text.endswith("\n")
        else:
            assert text == ""


def _families_exposed(study_dir: Path) -> list[tuple]:
    """The attacker of the review: a local authority's mean or share hidden for resting on fewer
    than 10 people, worked out as the pooled value (n published exactly) minus the shown ones."""
    from kitbag_analysis.analysis.analyse import analysis_counts
    from kitbag_analysis.pages.report import suppression_pattern
    from kitbag_analysis.sdc.release import make_release
    from kitbag_analysis.sdc.statistics import _family

    study = load_study(study_dir)
    pattern = suppression_pattern(study)
    cells, counts = {}, {}
    for unit in study.units:
        for c in make_release(study, analysis_counts(study, unit), pattern.protection).cells():
            cells[c.key] = c
            if c.measure == "n":
                counts[c.key] = c
    exposed = []
    las = list(study.settings.local_authorities)
    for key, cell in cells.items():
        if key.unit != "all" or cell.suppressed or cell.value is None or not _family(cell):
            continue
        arm = key.column.split(" ")[0]
        hidden = [la for la in las if (c := cells.get(CellKey(la, *list(vars(key).values())[1:]))) and c.suppressed]
        n = [counts[CellKey(la, key.table, key.population, key.row, arm)] for la in hidden]
        if hidden and (any(c.suppressed for c in n) is False) and sum(c.value for c in n) < 10:
            exposed.append((key.label, hidden))
    return exposed


@pytest.mark.parametrize(("children", "seed"), [(400, 1), (120, 3)])
def test_a_hidden_mean_or_share_is_not_the_pooled_minus_the_shown(children: int, seed: int, tmp_path: Path) -> None:
    """Review findings: Haringey's control share referred (9 of 38) came back as the pooled share
    minus the other three; an LA's baseline mean over 9 children as the pooled mean minus the rest."""
    from kitbag_analysis.synthetic.generate import SynthSpec, write_study

    study = write_study(tmp_path / "study", SynthSpec(seed=seed, children=children))
    assert _families_exposed(study) == []
