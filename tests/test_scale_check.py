"""What bench/scale_out.py counts as lost, doubled, out of order, unanswered or held twice
(bench/scale_check.py), on trackers and lock holds written here; and the nginx configuration it
makes from deploy/nginx.conf."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from bench.scale_check import Sent, check_conversation, check_holds
from bench.scale_shape import DEPLOY_NGINX, Doors, nginx_config


def user(mid: str) -> dict:
    return {"event": "user", "text": "…", "metadata": {"client_message_id": mid}}


def bot(agent: str = "") -> dict:
    return {"event": "bot", "text": "…", "metadata": {"agent_id": agent} if agent else {}}


LISTEN = {"event": "action", "name": "action_listen"}
SENT = [Sent("c", "m1", 0), Sent("c", "m2", 0), Sent("c", "m3", 1)]


def turn(mid: str) -> list:
    return [user(mid), {"event": "action", "name": "action_answer_topic"}, bot(), LISTEN]


def test_whole_turns_in_order_pass():
    found = check_conversation([LISTEN, *turn("m2"), *turn("m1"), *turn("m3")], SENT)
    assert found.failures == 0 and found.messages == 3  # m1 and m2 were sent at once: either order


def test_a_message_missing_or_twice_is_lost_or_doubled():
    found = check_conversation([*turn("m1"), *turn("m3"), *turn("m3")], SENT)
    assert found.lost == ["m2"] and found.doubled == ["m3"]


def test_two_turns_run_at_once_leave_the_first_unanswered():
    events = [user("m1"), user("m2"), bot(), LISTEN, bot(), LISTEN, *turn("m3")]
    assert check_conversation(events, SENT).unanswered == ["m1"]


def test_a_message_before_one_answered_before_it_was_sent_is_out_of_order():
    found = check_conversation([*turn("m1"), *turn("m3"), *turn("m2")], SENT)
    assert found.out_of_order == ["m2"]


def test_a_message_never_sent_is_stray():
    found = check_conversation([*turn("m1"), *turn("m2"), *turn("m3"), *turn("x")], SENT)
    assert found.stray == ["x"]


def test_a_message_written_to_a_person_is_answered_by_the_person_or_the_return():
    handed = [*turn("m1"), *turn("m2")[:-1], {"event": "pause"}, LISTEN, user("m3")]
    assert check_conversation(handed, SENT).unanswered == ["m3"]
    assert check_conversation([*handed, bot("li")], SENT).failures == 0
    assert check_conversation([*handed, {"event": "resume"}, bot(), LISTEN], SENT).failures == 0


def test_holds_that_overlap_are_found_and_spread_is_counted():
    holds = [{"conversation": "a", "process": "rasa-1", "asked": 0.0, "acquired": 0.0, "released": 1.0},
             {"conversation": "a", "process": "rasa-2", "asked": 0.5, "acquired": 1.0, "released": 2.0},
             {"conversation": "b", "process": "rasa-1", "asked": 0.0, "acquired": 0.0, "released": 1.0},
             {"conversation": "b", "process": "rasa-1", "asked": 0.2, "acquired": 0.9, "released": 1.5}]
    found = check_holds(holds)
    assert found.overlapping == ["b"] and found.on_several_processes == 1 and found.waited == pytest.approx([0.5, 0.7])
    assert found.by_process == {"rasa-1": 3, "rasa-2": 1}
    assert found.handover == pytest.approx([0.0])  # a's second hold waited for the first
    assert check_holds(holds, ["a"]).overlapping == []


def test_the_bench_runs_deploys_routes(tmp_path: Path):
    deploy = DEPLOY_NGINX.read_text()
    doors = Doors(public=1001, agents=1002, rasa_api=1003, actions=1004)
    text = nginx_config(deploy, directory=tmp_path, doors=doors, generation=3,
                        upstreams={"rasa": [2001, 2002], "wechat": [2003], "desk": [2004, 2005], "actions": [2006]})
    locations = re.compile(r"location \S+\s+\{[^}]*\}")
    added = ("location = /bench/generation", "location / { proxy_pass http://actions; }")
    assert locations.findall(deploy) == [x for x in locations.findall(text) if not x.startswith(added)]
    assert "upstream rasa { server 127.0.0.1:2001; server 127.0.0.1:2002;" in text
    assert "listen 127.0.0.1:1001;" in text and "listen 127.0.0.1:1003;" in text
    assert f"pid {tmp_path}/nginx.pid;" in text and "daemon off;" in text
