"""The agent console protocol, parsed and built without sockets."""
from __future__ import annotations

import json

import pytest

from handoff import protocol
from handoff.exceptions import (InvalidTransition, NotHolder, ProtocolError, QueueUnavailable,
                                TicketNotFound)


def test_a_valid_request_keeps_its_fields_and_ref():
    request = protocol.parse('{"v": 1, "type": "close", "ref": 7, "ticket_id": "t1", '
                             '"reason_code": "resolved", "note": "", "extra": 1}')
    assert (request.type, request.ref) == ("close", 7)
    assert request.fields == {"ticket_id": "t1", "reason_code": "resolved", "note": ""}


def test_bytes_frames_are_accepted_as_utf8():
    assert protocol.parse('{"type": "message", "ticket_id": "t", "text": "您好"}'.encode()).get("text") == "您好"


@pytest.mark.parametrize("frame, code", [
    ("not json", "bad_frame"),
    ("[1, 2]", "bad_frame"),
    (b"\xff\xfe", "bad_frame"),
    ('{"type": "dance"}', "unknown_type"),
    ('{"ticket_id": "t"}', "unknown_type"),
    ('{"type": "claim"}', "bad_request"),
    ('{"type": "claim", "ticket_id": 5}', "bad_request"),
    ('{"type": "message", "ticket_id": "t", "text": "   "}', "bad_request"),
    ('{"type": "typing", "ticket_id": "t", "active": "yes"}', "bad_request"),
    ('{"type": "transfer", "ticket_id": "t"}', "bad_request"),
    ('{"type": "transfer", "ticket_id": "t", "to_agent": "a", "to_language": "en"}', "bad_request"),
    ('{"type": "presence", "status": "asleep"}', "bad_request"),
    ('{"type": "snapshot", "v": 4}', "bad_request"),
    ('{"type": "note", "ticket_id": "t", "text": " "}', "bad_request"),
    ('{"type": "note", "ticket_id": "t"}', "bad_request"),
    ('{"type": "snapshot", "ref": {"a": 1}}', "bad_request"),
])
def test_bad_frames_are_typed_errors(frame, code):
    with pytest.raises(ProtocolError) as failure:
        protocol.parse(frame)
    assert failure.value.code == code


def test_an_error_keeps_the_ref_of_the_frame_it_answers():
    with pytest.raises(ProtocolError) as failure:
        protocol.parse('{"type": "claim", "ref": "r9"}')
    assert failure.value.ref == "r9"
    sent = json.loads(protocol.error(failure.value.code, str(failure.value), failure.value.ref))
    assert sent == {"v": 3, "type": "error", "code": "bad_request", "message": "claim needs ticket_id", "ref": "r9"}


def test_over_long_text_is_refused():
    with pytest.raises(ProtocolError):
        protocol.parse(json.dumps({"type": "message", "ticket_id": "t", "text": "x" * 4001}))


@pytest.mark.parametrize("failure, code", [
    (TicketNotFound("t"), "not_found"), (NotHolder("t", "assigned", "closed"), "not_holder"),
    (InvalidTransition("t", "closed", "closed"), "invalid_transition"),
    (QueueUnavailable("down"), "unavailable"), (ProtocolError("taken", "x"), "taken"),
    (RuntimeError("bug"), "internal"),
])
def test_errors_map_to_codes(failure, code):
    assert protocol.error_code(failure) == code


def test_the_first_frame_must_be_auth():
    assert protocol.auth_token(protocol.parse('{"type": "auth", "token": "abc"}')) == "abc"
    with pytest.raises(ProtocolError):
        protocol.auth_token(protocol.parse('{"type": "snapshot"}'))


def test_version_1_and_2_requests_are_still_accepted_and_answers_say_version_3():
    assert protocol.parse('{"v": 1, "type": "snapshot"}').type == "snapshot"
    assert protocol.parse('{"v": 2, "type": "note", "ticket_id": "t", "text": "called back"}').get("text") == "called back"
    assert json.loads(protocol.ok("r1"))["v"] == 3


def test_suggest_takes_a_ticket_and_maybe_a_topic():
    assert protocol.parse('{"v": 3, "type": "suggest", "ticket_id": "t"}').fields == {"ticket_id": "t"}
    assert protocol.parse('{"type": "suggest", "ticket_id": "t", "topic": "ask_pension"}').get("topic") == "ask_pension"
    for bad in ('{"type": "suggest"}', '{"type": "suggest", "ticket_id": "t", "topic": 7}',
                '{"type": "suggest", "ticket_id": "t", "topic": " "}'):
        with pytest.raises(ProtocolError) as failure:
            protocol.parse(bad)
        assert failure.value.code == "bad_request"


@pytest.mark.parametrize("requested, languages, chosen", [
    ("zh", ("en",), "zh"), ("en", ("zh",), "en"), (None, ("zh", "en"), "zh"), ("fr", ("en",), "en"),
    (None, ("fr",), "en"), ("<script>", (), "en"),
])
def test_the_console_language_is_one_the_desk_has_words_for(requested, languages, chosen):
    assert protocol.console_language(requested, languages) == chosen


def test_every_request_type_has_a_handler_and_no_handler_is_for_an_unknown_type():
    from handoff.handlers import HANDLERS
    assert set(HANDLERS) == set(protocol.REQUESTS)
