"""The supervisor's figures (handoff/reports.py) on a scripted day with answers worked by hand
(tests/scripted_day.py), and on the live queue."""
from __future__ import annotations

import csv
import io

import pytest

from handoff import reports
from handoff import tickets as t
from handoff.exceptions import InvalidRequest
from handoff.reports import Period
from handoff.settings import DEFAULT_THRESHOLDS

import scripted_day as day

NOW = day.DAY + 2 * 86400


@pytest.fixture(scope="module")
def report():
    return reports.period_report(tickets=day.pure_tickets(), events=day.events(),
                                 period=Period.create(*day.PERIOD), now=NOW, events_from=day.DAY - 86400)


def test_every_row_of_the_scripted_day_has_the_figures_worked_by_hand(report):
    got = {(row["language"], row["channel"]): {key: value for key, value in row.items()
                                               if key not in ("language", "channel")}
           for row in report["rows"] + [report["total"]]}
    assert got == day.EXPECTED


def test_waits_by_priority_and_the_queue_length_over_the_day(report):
    assert report["waits_by_priority"] == day.EXPECTED_WAITS
    chart = report["queue_length"]
    assert chart["step"] == 900 and len(chart["buckets"]) == 96
    by_time = {bucket: n for bucket, n in zip(chart["buckets"], chart["series"]["all"])}
    assert {clock: by_time[day.at(clock)] for clock in day.EXPECTED_QUEUE} == day.EXPECTED_QUEUE
    assert max(chart["series"]["all"]) == day.EXPECTED_PEAK
    # per language: the 09:00 peak is two zh tickets; en never had two waiting at once
    assert by_time[day.at("09:00")] == dict(zip(chart["buckets"], chart["series"]["zh"]))[day.at("09:00")]
    assert max(chart["series"]["en"]) == 1


def test_a_report_shows_numbers_never_a_conversation_or_what_a_claimant_wrote(report):
    text = repr(report)
    assert "day-" not in text and "13812345678" not in text and "您好" not in text


def test_the_period_bounds_which_conversations_and_tickets_count():
    morning = Period.create(day.at("00:00"), day.at("10:30"))
    figures = reports.period_report(tickets=day.pure_tickets(), events=day.events(), period=morning, now=NOW,
                                    events_from=day.DAY)["total"]
    # b1 t1 t2 b2 b3 t3 t4; tickets t1 t2 t3 t4 c4 (c4 handled in the afternoon, still counted: asked in the morning)
    assert (figures["conversations"], figures["handed_off"], figures["tickets"]) == (7, 4, 5)
    assert (figures["callbacks_asked"], figures["callbacks_done"], figures["abandoned"]) == (1, 1, 1)


def test_the_report_says_when_the_stream_no_longer_holds_the_start_of_the_period():
    span = Period.create(*day.PERIOD)
    partial = reports.period_report(tickets=[], events=[], period=span, now=NOW, events_from=day.at("12:00"))
    assert partial["coverage"] == {"events_from": day.at("12:00"), "partial": True}
    assert partial["total"]["conversations"] == 0 and partial["total"]["handoff_rate"] is None
    whole = reports.period_report(tickets=[], events=[], period=span, now=NOW, events_from=day.DAY - 1)
    assert whole["coverage"]["partial"] is False


def test_a_callback_left_at_the_moment_of_never_mind_is_not_abandonment():
    tickets = [x for x in day.pure_tickets() if x.id != "c4"]  # without the callback, t4 left the queue
    figures = reports.period_report(tickets=tickets, events=day.events(), period=Period.create(*day.PERIOD),
                                    now=NOW)["rows"]
    zh_wechat = next(row for row in figures if (row["language"], row["channel"]) == ("zh", "wechat"))
    assert zh_wechat["abandoned"] == 1 and zh_wechat["abandonment_rate"] == 1.0


def test_csat_ratings_fill_the_column_and_none_leave_it_empty(report):
    assert report["total"]["csat_mean"] is None and report["total"]["csat_count"] == 0
    ratings = [reports.Rating("zh", "web", 4, day.at("09:13")), reports.Rating("zh", "web", 2, day.at("09:14"))]
    figures = reports.period_report(tickets=day.pure_tickets(), events=day.events(), period=Period.create(*day.PERIOD),
                                    now=NOW, ratings=ratings)["total"]
    assert (figures["csat_mean"], figures["csat_count"]) == (3.0, 2)


def test_the_report_reads_the_ratings_given_in_the_period_from_the_survey_store(r):
    from handoff.csat import Survey
    from handoff.csat_store import CsatStore
    from handoff.report_sources import ratings

    store = CsatStore(r)
    for n, (asked, rated, score) in enumerate([("08:00", "08:05", 5), ("08:10", None, None),
                                                ("08:20", "08:21", 1)]):
        store.ask(Survey(f"t{n}", f"c{n}", "li", "ask_pension", "zh", "web", "returned", day.at(asked)))
        if score:
            assert store.rate(f"t{n}", conversation_id=f"c{n}", score=score, at=day.at(rated))
    inside = ratings(r, Period.create(day.at("08:00"), day.at("08:10")))
    assert [(x.score, x.language, x.channel) for x in inside] == [(5, "zh", "web")]
    assert sorted(x.score for x in ratings(r, Period.create(*day.PERIOD))) == [1, 5]


def test_the_csv_has_one_line_per_row_and_the_total_with_empty_cells_for_nothing_measured(report):
    rows = list(csv.DictReader(io.StringIO(reports.to_csv(report))))
    assert list(rows[0]) == list(reports.CSV_COLUMNS)
    assert [(r["language"], r["channel"]) for r in rows] == sorted(k for k in day.EXPECTED if k != ("all", "all")) + [("all", "all")]
    total = rows[-1]
    assert (total["period_from"], total["period_to"]) == ("2024-03-03T16:00:00Z", "2024-03-04T16:00:00Z")
    assert (total["conversations"], total["handoff_rate"], total["first_reply_p90_s"]) == ("12", "0.6667", "300.0")
    assert rows[0]["first_reply_p50_s"] == "" and total["csat_mean"] == ""


def test_percentiles_are_nearest_rank():
    assert reports.percentile([], 50) is None
    assert reports.percentile([5], 90) == 5
    assert reports.percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50) == 5
    assert reports.percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90) == 9
    assert reports.percentile([10, 1, 7], 90) == 10


@pytest.mark.parametrize("start,end", [(10, 10), (10, 5), ("a", 20), (0, 32 * 86400), (True, 20),
                                       (0, float("inf"))])
def test_a_bad_period_is_a_typed_error(start, end):
    with pytest.raises(InvalidRequest):
        Period.create(start, end)


def test_the_live_view_counts_the_queue_and_the_people():
    now = day.DAY + 3600
    waiting = [
        t.new_ticket(ticket_id="w1", conversation_id="live-1", channel="web", language="zh", priority="requested",
                     reason="r", brief={}, at=now - 1000, seq=1),
        t.new_ticket(ticket_id="w2", conversation_id="live-2", channel="wechat", language="en", priority="crisis",
                     reason="r", brief={}, at=now - 30, seq=2),
        t.new_ticket(ticket_id="w3", conversation_id="live-3", channel="web", language="zh", priority="crisis",
                     reason="r", brief={}, at=now - 61, seq=3),
    ]
    held = t.claim(t.new_ticket(ticket_id="h1", conversation_id="live-4", channel="web", language="zh",
                                priority="urgent", reason="r", brief={}, at=now - 400, seq=4), agent="li", at=now - 100)
    people = [reports.AgentPresence("li", "李伟", "agent", ("zh",), "available"),
              reports.AgentPresence("wang", "王芳", "agent", ("zh",), "away"),
              reports.AgentPresence("sam", "Sam", "agent", ("en",), "available"),
              reports.AgentPresence("ann", "Ann", "agent", ("en",), "offline")]
    live = reports.live_view(waiting=waiting, agents=people, held={"li": [held]}, now=now,
                             thresholds=DEFAULT_THRESHOLDS)
    assert live["waiting"]["total"] == 3
    assert live["waiting"]["by_priority"] == {"crisis": 2, "urgent": 0, "complex": 0, "requested": 1, "callback": 0}
    assert live["waiting"]["grid"]["zh"]["crisis"] == 1 and live["waiting"]["by_language"] == {"en": 1, "zh": 2}
    assert live["longest_wait"] == {"ticket_id": "w1", "language": "zh", "priority": "requested", "seconds": 1000.0}
    assert [(a["agent_id"], a["status"]) for a in live["agents"]] == [
        ("li", "busy"), ("sam", "available"), ("wang", "away"), ("ann", "offline")]
    assert live["agents"][0]["holding"] == [{"ticket_id": "h1", "language": "zh", "channel": "web",
                                             "priority": "urgent", "held_seconds": 100.0}]
    assert live["agent_counts"] == {"available": 1, "away": 1, "busy": 1, "offline": 1}
    # past the threshold: requested after 900 s, crisis after 60 s; the longest first
    assert [(o["ticket_id"], o["threshold_seconds"]) for o in live["overdue"]] == [("w1", 900.0), ("w3", 60.0)]
    assert "live-" not in repr(live)
