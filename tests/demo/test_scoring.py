"""Demo scoring: expected alarms matched to raised ones; misses and false alarms counted."""

from __future__ import annotations

from demo.scoring import Expected, Raised, percentiles, score


def test_matches_equivalent_kinds_within_window() -> None:
    exp = [Expected("h1", "fall", 1000.0, 60), Expected("h2", "inactivity", 5000.0, 7200)]
    raised = [
        Raised("a1", "h1", "radar_fall", 1010.0, True),
        Raised("a2", "h2", "not_up", 9000.0, True),
        Raised("a3", "h1", "fall", 1030.0, True),  # follow-up of the same fall
    ]
    s = score(exp, raised)
    assert s.ok and len(s.matched) == 2 and not s.false_alarms


def test_reports_missed_false_and_unreached() -> None:
    exp = [Expected("h1", "fall", 1000.0, 60), Expected("h2", "sos", 2000.0, 30)]
    raised = [
        Raised("a1", "h1", "fall", 1005.0, False),
        Raised("a2", "h3", "heart_rate_high", 3000.0, True),
        Raised("a3", "h3", "test", 3000.0, False),
    ]
    s = score(exp, raised)
    assert [e.kind for e in s.missed] == ["sos"]
    assert [r.alarm_id for r in s.false_alarms] == ["a2"]
    assert [r.alarm_id for r in s.unreached] == ["a1"]
    assert not s.ok


def test_alarm_outside_window_is_false_and_expected_is_missed() -> None:
    s = score([Expected("h1", "fall", 1000.0, 60)], [Raised("a1", "h1", "fall", 5000.0, True)])
    assert len(s.missed) == 1 and len(s.false_alarms) == 1


def test_percentiles() -> None:
    assert percentiles([])["p50"] is None
    p = percentiles([10.0, 20.0, 30.0])
    assert p["p50"] == 20.0 and p["n"] == 3
