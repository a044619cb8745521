"""Access control: roles, hashed revocable tokens, queue languages, audited transcript reads."""
from __future__ import annotations

import hashlib

import pytest

from core.privacy import access, audit
from core.privacy.exceptions import AuthenticationFailed, Forbidden, InvalidRequest
from core import redis_keys


def principal(role, languages=("zh",)):
    return access.Principal("u1", role, tuple(languages))


def test_queue_visibility_by_role_and_language():
    assert access.can_see_queue(principal("agent", ["zh"]), "zh")
    assert not access.can_see_queue(principal("agent", ["zh"]), "en")
    assert access.can_see_queue(principal("supervisor", ["zh"]), "en")
    assert not access.can_see_queue(principal("trainer", ["zh", "en"]), "zh")
    assert access.visible_languages(principal("agent", ["en"]), ["zh", "en"]) == ["en"]


def test_bad_accounts_are_refused():
    with pytest.raises(InvalidRequest):
        access.check_user("li si", "agent", ["zh"])
    with pytest.raises(InvalidRequest):
        access.check_user("li", "admin", ["zh"])
    with pytest.raises(InvalidRequest):
        access.check_user("li", "agent", [])
    with pytest.raises(InvalidRequest):
        access.check_user("li", "agent", ["chinese!"])
    assert access.check_user("li", "trainer", []) == ()
    assert access.check_user("li", "agent", ["ZH", " en", "zh"]) == ("zh", "en")


def test_token_round_trip_and_nothing_secret_stored(r):
    token = access.add_user(r, "agent-li", role="agent", languages=["zh"], name="Li")
    found = access.authenticate(r, token)
    assert (found.user_id, found.role, found.languages, found.name) == ("agent-li", "agent", ("zh",), "Li")
    assert found.agent_id == "agent-li" and not found.is_supervisor
    token_id, secret = token.split(".")
    dump = repr({key: r.dump(key) for key in r.keys("*")})
    assert secret not in dump and hashlib.sha256(secret.encode()).hexdigest() not in dump
    assert token not in repr(list(audit.entries(r)))


@pytest.mark.parametrize("bad", ["", "nonsense", None, 42, "0123456789abcdef.short",
                                 "0123456789abcdef." + "x" * 43])
def test_bad_tokens_fail(r, bad):
    access.add_user(r, "agent-li", role="agent", languages=["zh"])
    with pytest.raises(AuthenticationFailed):
        access.authenticate(r, bad)


def test_wrong_secret_for_a_real_token_id_fails(r):
    token = access.add_user(r, "agent-li", role="agent", languages=["zh"])
    token_id, secret = token.split(".")
    with pytest.raises(AuthenticationFailed):
        access.authenticate(r, f"{token_id}.{secret[:-1]}{'A' if secret[-1] != 'A' else 'B'}")


def test_revocation(r):
    first = access.add_user(r, "agent-li", role="agent", languages=["zh"])
    second = access.issue_token(r, "agent-li")
    assert access.revoke_token(r, second.split(".")[0])
    with pytest.raises(AuthenticationFailed):
        access.authenticate(r, second)
    assert access.authenticate(r, first).user_id == "agent-li"
    replaced = access.add_user(r, "agent-li", role="supervisor", languages=["zh", "en"])
    with pytest.raises(AuthenticationFailed):
        access.authenticate(r, first)  # re-adding a user ends their old tokens
    assert access.authenticate(r, replaced).is_supervisor
    assert access.revoke_user(r, "agent-li") == 1
    with pytest.raises(AuthenticationFailed):
        access.authenticate(r, replaced)
    assert "agent-li" not in access.users(r)
    assert not access.revoke_token(r, "0123456789abcdef")
    actions = [e.action for e in audit.entries(r)]
    assert actions.count("token_revoked") == 3 and actions.count("token_issued") == 3


def test_transcript_reads_are_audited_and_other_languages_refused(r, tmp_path):
    mirror = audit.mirror_path(tmp_path)
    agent = access.authenticate(r, access.add_user(r, "agent-en", role="agent", languages=["en"]))
    access.open_transcript(r, agent, "web-1", "en", mirror=mirror)
    with pytest.raises(Forbidden):
        access.open_transcript(r, agent, "web-2", "zh", mirror=mirror)
    trainer = access.authenticate(r, access.add_user(r, "trainer-1", role="trainer"))
    with pytest.raises(Forbidden):
        access.open_transcript(r, trainer, "web-1", "en", mirror=mirror)
    with pytest.raises(Forbidden):
        access.reveal(r, trainer, "web-1", "PHONE", mirror=mirror)
    access.reveal(r, agent, "web-1", "PHONE", language="en", mirror=mirror)
    trail = [(e.who, e.action, e.conversation_id, e.field) for e in audit.read_mirror(mirror)
             if e.conversation_id]
    assert trail == [("agent-en", "read_transcript", "web-1", ""),
                     ("agent-en", "forbidden", "web-2", ""),
                     ("trainer-1", "forbidden", "web-1", ""),
                     ("trainer-1", "forbidden", "web-1", ""),
                     ("agent-en", "reveal", "web-1", "PHONE")]
    assert r.hlen(redis_keys.ACCESS_USERS) == 2
