"""Boundary tests of the RULES.md thresholds: just under, at and just over each one."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from trd_builders import AS_OF, Data

from trd_cds.rules import TrdRules


@pytest.fixture(scope="module")
def rules() -> TrdRules:
    return TrdRules.load()


def assess(rules: TrdRules, data: Data) -> dict[str, Any]:
    return rules.assess(data.patient(), AS_OF)


@pytest.mark.parametrize(("gap", "trials"), [(29, 1), (30, 1), (31, 2)])
def test_trial_gap_days(rules: TrdRules, gap: int, trials: int) -> None:
    first_end = date(2025, 1, 31)
    d = Data().mdd().med("sertraline", date(2025, 1, 1), first_end, 100)
    d.med("sertraline", first_end + timedelta(days=gap + 1), date(2025, 4, 30), 100)
    assert len(assess(rules, d)["trials"]) == trials


@pytest.mark.parametrize(("days", "adequate"), [(41, False), (42, True), (43, True)])
def test_adequate_trial_days(rules: TrdRules, days: int, adequate: bool) -> None:
    start = date(2025, 1, 1)
    d = Data().mdd().med("sertraline", start, start + timedelta(days=days - 1), 50)
    trial = assess(rules, d)["trials"][0]
    assert trial["daysAtAdequateDose"] == days
    assert trial["adequate"] is adequate
    assert trial["flags"] == ([] if adequate else ["too-short"])


@pytest.mark.parametrize(("birth", "days", "adequate"), [
    ("1959-12-31", 55, False), ("1959-12-31", 56, True), ("1960-01-02", 42, True)])
def test_older_adult_days(rules: TrdRules, birth: str, days: int, adequate: bool) -> None:
    # 65 on 31 Dec 2024 -> older adult at the 1 Jan 2025 start; born 2 Jan 1960 -> 64.
    start = date(2025, 1, 1)
    d = Data(birth).mdd().med("sertraline", start, start + timedelta(days=days - 1), 50)
    assert assess(rules, d)["trials"][0]["adequate"] is adequate


@pytest.mark.parametrize(("mg", "flags"), [(49.5, ["low-dose"]), (50, []), (50.5, [])])
def test_minimum_adequate_dose(rules: TrdRules, mg: float, flags: list[str]) -> None:
    d = Data().mdd().med("sertraline", date(2025, 1, 1), date(2025, 3, 31), mg)
    assert assess(rules, d)["trials"][0]["flags"] == flags


@pytest.mark.parametrize(("covered", "poor"), [(71, True), (72, False), (73, False)])
def test_minimum_pdc(rules: TrdRules, covered: int, poor: bool) -> None:
    # 90-day trial: 72 days covered is exactly 0.8.
    start = date(2025, 1, 1)
    d = Data().mdd().med("sertraline", start, start + timedelta(days=89), 100).dispense("sertraline", start, covered)
    assert ("poor-adherence" in assess(rules, d)["trials"][0]["flags"]) is poor


@pytest.mark.parametrize(("outcome_score", "outcome"), [
    (4, "remission"), (5, "response"), (10, "response"), (11, "partial-response"),
    (15, "partial-response"), (16, "non-response")])
def test_outcome_thresholds(rules: TrdRules, outcome_score: int, outcome: str) -> None:
    # Baseline 20: drop 50 % at 10, 25 % at 15; remission below 5.
    start = date(2025, 1, 1)
    d = Data().mdd().med("sertraline", start, date(2025, 4, 30), 100)
    d.phq9(start, 20).phq9(date(2025, 4, 25), outcome_score)
    assert assess(rules, d)["trials"][0]["outcome"] == outcome


def two_failed_classes(d: Data) -> Data:
    d.med("sertraline", date(2024, 6, 1), date(2024, 8, 31), 100).phq9(date(2024, 6, 1), 20).phq9(date(2024, 8, 25), 19)
    d.med("venlafaxine", date(2024, 9, 10), date(2024, 12, 31), 150).phq9(date(2024, 12, 20), 18)
    return d


@pytest.mark.parametrize(("minimum", "status"), [(1, "met"), (2, "met"), (3, "not-met")])
def test_trd_minimum_failed_classes(minimum: int, status: str) -> None:
    rules = TrdRules.load({"TRDMinimumFailedClasses": minimum})
    assert rules.assess(two_failed_classes(Data().mdd()).patient(), AS_OF)["trdStatus"] == status


def test_count_distinct_drugs() -> None:
    d = Data().mdd()
    d.med("sertraline", date(2024, 6, 1), date(2024, 8, 31), 100).phq9(date(2024, 6, 1), 20).phq9(date(2024, 8, 25), 19)
    d.med("escitalopram", date(2024, 9, 10), date(2024, 12, 31), 20).phq9(date(2024, 12, 20), 18)
    assert TrdRules.load().assess(d.patient(), AS_OF)["trdStatus"] == "not-met"
    looser = TrdRules.load({"TRDCountDistinctDrugs": True})
    assert looser.assess(d.patient(), AS_OF)["trdStatus"] == "met"
    assert looser.ruleset_version != TrdRules.load().ruleset_version


@pytest.mark.parametrize(("ended_days_ago", "in_episode"), [(729, True), (730, True), (731, False)])
def test_episode_lookback_days(ended_days_ago: int, in_episode: bool) -> None:
    # Without an MDD diagnosis the episode starts EpisodeLookbackDays before the evaluation.
    end = AS_OF - timedelta(days=ended_days_ago)
    d = Data().med("sertraline", end - timedelta(days=60), end, 100)
    trial = TrdRules.load().assess(d.patient(), AS_OF)["trials"][0]
    assert trial["inCurrentEpisode"] is in_episode


@pytest.mark.parametrize(("days_ago", "crisis"), [(29, True), (30, True), (31, False)])
def test_crisis_lookback(rules: TrdRules, days_ago: int, crisis: bool) -> None:
    d = Data().mdd().phq9(AS_OF - timedelta(days=days_ago), 1, item9=True)
    assert assess(rules, d)["crisis"] is crisis


@pytest.mark.parametrize(("score", "crisis"), [(0, False), (1, True)])
def test_item9_score(rules: TrdRules, score: int, crisis: bool) -> None:
    assert assess(rules, Data().mdd().phq9(AS_OF, score, item9=True))["crisis"] is crisis


def test_gap_parameter_override() -> None:
    d = Data().mdd().med("sertraline", date(2025, 1, 1), date(2025, 1, 31), 100)
    d.med("sertraline", date(2025, 3, 15), date(2025, 4, 30), 100)  # 42 uncovered days
    assert len(TrdRules.load().assess(d.patient(), AS_OF)["trials"]) == 2
    assert len(TrdRules.load({"TrialGapDays": 42}).assess(d.patient(), AS_OF)["trials"]) == 1


def test_unknown_parameter_is_refused() -> None:
    with pytest.raises(KeyError):
        TrdRules.load({"NoSuchThreshold": 1})
