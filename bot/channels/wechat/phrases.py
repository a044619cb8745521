"""What the WeChat channel itself says, in both languages (the bot's answers come from Rasa).

`say(key, language, **values)` gives one language's line; a claimant whose language is not
known yet (None) gets Chinese then English.
"""
from __future__ import annotations

from typing import Optional

from core.language_codes import LANGUAGES

HUMAN_PAYLOAD = "/request_human"

PHRASES = {
    "welcome": {
        "zh": "您好，欢迎关注！我是社保智能助手，可以解答养老、失业、医疗、工伤、生育等社会保险问题。"
              "直接输入您的问题即可；想找人工客服，请回复“人工”。",
        "en": "Hello, and thank you for following us! I am the social security assistant: ask me about "
              "pensions, unemployment, medical, work-injury or maternity insurance. Type your question; "
              "to talk to a person, reply \"person\".",
    },
    "slow_down": {
        "zh": "您发消息太快了，我有点跟不上。请稍等一分钟，再把您的问题发给我。",
        "en": "You are sending messages faster than I can read them. Please wait a minute, then send your question again.",
    },
    "type_please": {
        "zh": "抱歉，这条语音我没能听清。请用文字输入您的问题，我马上为您解答。",
        "en": "Sorry, I could not make out that voice message. Please type your question and I will answer.",
    },
    "media": {
        "zh": "谢谢您发来的{what}。我目前只能阅读文字，请用文字描述您的问题。如需人工帮助，请回复数字：",
        "en": "Thank you for the {what}. I can only read text for now: please describe your question in words. "
              "For help from a person, reply with the number:",
    },
    "unknown": {
        "zh": "抱歉，我暂时无法处理这类消息。请用文字描述您的问题。如需人工帮助，请回复数字：",
        "en": "Sorry, I cannot handle this kind of message yet. Please describe your question in words. "
              "For help from a person, reply with the number:",
    },
    "failed": {
        "zh": "抱歉，刚才这条消息没能处理成功，请您再发送一次。",
        "en": "Sorry, that message could not be handled. Please send it again.",
    },
    "offer_person": {"zh": "转人工客服", "en": "Talk to a person"},
    "agent_says": {"zh": "人工客服{name}：{text}", "en": "Agent{name}: {text}"},
    "agent_joined": {"zh": "人工客服{name}已加入对话，请直接回复。",
                     "en": "An agent{name} has joined the conversation. You can reply now."},
    "agent_left": {"zh": "人工客服{name}已离开对话。", "en": "The agent{name} has left the conversation."},
    "queue_position": {"zh": "您前面还有{ahead}位，预计等待约{minutes}分钟。",
                       "en": "There are {ahead} people ahead of you; the expected wait is about {minutes} min."},
    "queue_next": {"zh": "您是下一位，人工客服即将为您服务。", "en": "You are next: an agent will be with you shortly."},
    "queue_position_unknown": {"zh": "您前面还有{ahead}位，请稍候。",
                               "en": "There are {ahead} people ahead of you. Please wait."},
}

MEDIA_NAMES = {
    "image": {"zh": "图片", "en": "picture"},
    "video": {"zh": "视频", "en": "video"},
    "shortvideo": {"zh": "视频", "en": "video"},
    "location": {"zh": "位置", "en": "location"},
    "link": {"zh": "链接", "en": "link"},
}


def say(key: str, language: Optional[str], **values: object) -> str:
    """The line in `language`; Chinese then English when the language is not known."""
    if language in LANGUAGES:
        return PHRASES[key][language].format(**values)
    return "\n\n".join(PHRASES[key][lang].format(**values) for lang in LANGUAGES)


def media_name(kind: str, language: str) -> str:
    return MEDIA_NAMES.get(kind, {}).get(language, "")


def media_answer(kind: str, language: Optional[str]) -> str:
    """The polite answer to media the bot cannot read, ending where the options follow."""
    key = "media" if kind in MEDIA_NAMES else "unknown"
    languages = [language] if language in LANGUAGES else list(LANGUAGES)
    return "\n\n".join(PHRASES[key][lang].format(what=media_name(kind, lang)) for lang in languages)


def offer_person(language: Optional[str]) -> str:
    """The title of the "talk to a person" option."""
    if language in LANGUAGES:
        return PHRASES["offer_person"][language]
    return " / ".join(PHRASES["offer_person"][lang] for lang in LANGUAGES)
