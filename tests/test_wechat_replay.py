"""The answer a taken-over WeChat message already got, found in the tracker's events."""
from bot.channels.wechat.render import render
from bot.channels.wechat.replay import earlier_answer


def _user(text, key=None):
    return {"event": "user", "text": text, "metadata": {"wechat_key": key} if key else {}}


def _bot(text, **data):
    return {"event": "bot", "text": text, "data": data}


EVENTS = [
    {"event": "action", "name": "action_session_start"},
    _user("你好", "k1"),
    _bot("您好"),
    _user("工伤怎么认定", "k2"),
    {"event": "action", "name": "utter_work_injury"},
    _bot("工伤认定向人社部门申请。", buttons=[{"title": "转人工", "payload": "/request_human"}]),
    _bot("还有别的问题吗?"),
    _user("谢谢", "k3"),
    _bot("不客气"),
]


def test_the_answer_is_every_bot_message_up_to_the_next_claimant_message():
    answer = earlier_answer(EVENTS, "k2")
    assert [m["text"] for m in answer] == ["工伤认定向人社部门申请。", "还有别的问题吗?"]
    rendered = render(answer)
    assert "1. 转人工" in rendered.texts[0] and rendered.options == {"1": "/request_human"}


def test_the_last_message_s_answer_runs_to_the_end():
    assert [m["text"] for m in earlier_answer(EVENTS, "k3")] == ["不客气"]


def test_a_message_not_in_the_tracker_has_no_answer_and_must_run():
    assert earlier_answer(EVENTS, "k4") is None
    assert earlier_answer([], "k1") is None


def test_a_saved_message_without_bot_messages_has_an_empty_answer():
    assert earlier_answer([_user("嗯", "k9")], "k9") == []
