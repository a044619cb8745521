"""The summary at the top of the agent's brief: what the bot already knows, in a few lines (pure).

`summarise(brief, tracker, language=..., titles=...)` takes the brief (handoff/brief.py) and the
tracker it was built from, and returns a `Summary` in the agent's console language (`zh` or
`en`): who the claimant is (language, channel), why the conversation was handed over (priority,
reason), the topics asked in the order they were first asked, the signals with the words that
raised them, what the claimant said about their situation (handoff/situation.py), and what the
bot already answered (knowledge-base topics and the parts of them sent, pre-check results).
A line with nothing to say is left out, except the topics and the answers: "none yet" is news to
an agent. Every line is short; the structured parts (`topics`, `facts`, `answered`) are there for
programs. Claimant words in it are masked as the brief's are.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional

from bot.language_codes import EN, ZH
from bot.privacy.redaction import mask as mask_identifiers_in
from handoff.brief import COMPLEXITY_LEVELS, DISTRESS_LEVELS, NOT_TOPICS, Brief
from handoff.situation import Fact, situation

#: A summary line is cut here: the transcript below has everything.
LINE_CHARS = 240
#: Topics listed before the earlier ones are only counted.
MAX_TOPICS = 6
#: Evidence words shown per signal kind.
MAX_EVIDENCE = 4
#: Answered topics listed before the earlier ones are only counted.
MAX_ANSWERED = 5
NOT_ASKED = NOT_TOPICS | {"show_answer_part"}
#: The action that sends a topic's answer, one part of it, and the pre-checks' results.
ANSWER_ACTION, PART_ACTION = "action_answer_topic", "action_answer_part"
CHECK_RESULTS = {"action_unemployment_result": "unemployment", "action_pension_result": "pension"}

WORDS: Dict[str, Dict[str, Any]] = {
    EN: {
        "claimant": "Writes in {language}, on {channel}.",
        "languages": {ZH: "Chinese", EN: "English"},
        "channels": {"web": "the web widget", "wechat": "WeChat"},
        "unknown_channel": "an unknown channel",
        "why": "Handed over: {priority}. Reason: {reason}.",
        "why_same": "Handed over: {priority}.",
        "priorities": {"crisis": "crisis", "urgent": "urgent", "complex": "complex case",
                       "requested": "asked for a person", "callback": "callback"},
        "reasons": {},
        "topics": "Asked about, in order: {topics}.",
        "earlier": "({n} earlier) ",
        "then": " → ",
        "no_topics": "No benefit question asked yet.",
        "signals": "Signals: {signals}.",
        "distress": "distress {level}",
        "complexity": "complexity {level}",
        "needs": ", needs {needs}",
        "evidence": " ({words})",
        "levels": {"concern": "concern", "urgent": "urgent", "crisis": "crisis", "some": "some", "high": "high"},
        "situation": "Said about their situation: {facts}.",
        "answered": "The bot already answered: {answers}.",
        "nothing_answered": "The bot has not answered a benefit question.",
        "answer": "answer",
        "parts": {"details": "rules in full", "steps": "steps", "documents": "papers needed",
                  "where": "where to apply", "local": "local rules", "sources": "sources"},
        "checks": {"unemployment": "the unemployment benefit pre-check result",
                   "pension": "the pension pre-check result"},
        "list": ", ",
        "signal_joiner": "; ",
        "topic_parts": "{topic} ({parts})",
        "quote": "“{words}”",
        "facts": {
            "contribution_years": {None: "{value} years of contributions",
                                   "unemployment": "{value} years of unemployment insurance contributions",
                                   "pension": "{value} years of pension contributions"},
            "age": {None: "age {value}"},
            "birth_year": {None: "born {value}", "month": "born {value}-{detail}"},
            "gender": {None: "a man", "female": "a woman", "female cadre": "a woman (cadre)",
                       "female worker": "a woman (worker)"},
            "job_end": {"dismissed": "dismissed or not renewed", "resigned": "resigned",
                        "employer_fault": "resigned because wages or insurance went unpaid"},
            "registered": {True: "registered as unemployed", False: "not registered as unemployed"},
            "city": {None: "city {value}"},
            "province": {None: "province {value}"},
            "benefit": {None: "mentioned {value}"},
        },
    },
    ZH: {
        "claimant": "用户使用{language}，渠道：{channel}。",
        "languages": {ZH: "中文", EN: "英文"},
        "channels": {"web": "网页", "wechat": "微信"},
        "unknown_channel": "未知",
        "why": "转人工：{priority}。原因：{reason}。",
        "why_same": "转人工：{priority}。",
        "priorities": {"crisis": "危机", "urgent": "紧急", "complex": "情况复杂", "requested": "用户要求转人工",
                       "callback": "回电"},
        "reasons": {"asked for a person": "用户要求转人工", "complaint or appeal": "投诉或申诉"},
        "topics": "依次咨询：{topics}。",
        "earlier": "（之前还有{n}项）",
        "then": " → ",
        "no_topics": "尚未咨询具体业务。",
        "signals": "信号：{signals}。",
        "distress": "困境：{level}",
        "complexity": "复杂度：{level}",
        "needs": "，涉及{needs}",
        "evidence": "（{words}）",
        "levels": {"concern": "关注", "urgent": "紧急", "crisis": "危机", "some": "一般", "high": "高"},
        "situation": "用户自述：{facts}。",
        "answered": "机器人已答复：{answers}。",
        "nothing_answered": "机器人尚未答复具体业务问题。",
        "answer": "答复",
        "parts": {"details": "详细规定", "steps": "办理步骤", "documents": "所需材料", "where": "办理地点",
                  "local": "各地差异", "sources": "依据"},
        "checks": {"unemployment": "失业保险金预审结果", "pension": "养老金预审结果"},
        "list": "、",
        "signal_joiner": "；",
        "topic_parts": "{topic}（{parts}）",
        "quote": "“{words}”",
        "facts": {
            "contribution_years": {None: "缴费{value}年", "unemployment": "失业保险缴费{value}年",
                                   "pension": "养老保险缴费{value}年"},
            "age": {None: "{value}岁"},
            "birth_year": {None: "{value}年出生", "month": "{value}年{month}月出生"},
            "gender": {None: "男", "female": "女", "female cadre": "女（干部）", "female worker": "女（工人）"},
            "job_end": {"dismissed": "被辞退或不续签", "resigned": "自己辞职",
                        "employer_fault": "因单位欠薪或不缴社保而辞职"},
            "registered": {True: "已办失业登记", False: "未办失业登记"},
            "city": {None: "城市{value}"},
            "province": {None: "省份{value}"},
            "benefit": {None: "提到{value}"},
        },
    },
}


@dataclass(frozen=True)
class Line:
    """One line of the summary: `kind` (claimant, why, topics, signals, situation, answered), its
    `text`, and the claimant's words in it to highlight (`marks`: a signal's evidence)."""
    kind: str
    text: str
    marks: List[str] = field(default_factory=list)


@dataclass(frozen=True)
class Summary:
    language: str
    lines: List[Line]
    topics: List[str]
    facts: Dict[str, Fact]
    answered: List[Dict[str, Any]]

    def as_dict(self) -> Dict[str, Any]:
        return {"language": self.language,
                "lines": [{"kind": x.kind, "text": x.text, "marks": list(x.marks)} for x in self.lines],
                "topics": list(self.topics), "facts": {name: f.as_dict() for name, f in self.facts.items()},
                "answered": [dict(a, parts=list(a["parts"])) for a in self.answered]}


def summarise(brief: Brief, tracker: Mapping[str, Any], *, language: str,
              titles: Mapping[str, Mapping[str, str]],
              mask: Optional[Callable[[str], str]] = None) -> Summary:
    """The summary of `brief` (built from `tracker`) in `language` (`zh` or `en`; another code
    gives English). `titles`: topic -> language -> its name (handoff/kb.py `titles()`)."""
    language = language if language in WORDS else EN
    words = WORDS[language]
    hide = (mask or mask_identifiers_in) if brief.masked else (lambda text: text)
    events = tracker.get("events") if isinstance(tracker.get("events"), list) else []
    slots = tracker.get("slots") if isinstance(tracker.get("slots"), Mapping) else {}
    topics = asked(brief)
    facts = situation(events, slots, mask=hide)
    answers = answered(events)

    def title(topic: str) -> str:
        return (titles.get(topic) or {}).get(language) or topic

    lines = [Line("claimant", words["claimant"].format(
        language=words["languages"].get(brief.language, brief.language),
        channel=words["channels"].get(brief.channel) or brief.channel or words["unknown_channel"])),
        _why(brief, words)]
    lines.append(Line("topics", _latest_fitting(words["topics"], "topics", [title(t) for t in topics], MAX_TOPICS,
                                                words["then"], words) if topics else words["no_topics"]))
    signals = _signals_line(brief, words)
    if signals is not None:
        lines.append(signals)
    if facts:
        lines.append(Line("situation", words["situation"].format(
            facts=words["list"].join(_fact(fact, words) for fact in facts.values()))))
    lines.append(Line("answered", _latest_fitting(words["answered"], "answers",
                                                  [_answer(a, title, words) for a in answers], MAX_ANSWERED,
                                                  words["list"], words) if answers else words["nothing_answered"]))
    return Summary(language, [Line(x.kind, _cut(x.text), x.marks) for x in lines], topics, facts, answers)


def _why(brief: Brief, words: Mapping[str, Any]) -> Line:
    priority = words["priorities"].get(brief.priority, brief.priority)
    reason = words["reasons"].get(brief.reason, brief.reason)
    if reason == priority:
        return Line("why", words["why_same"].format(priority=priority))
    return Line("why", words["why"].format(priority=priority, reason=reason))


def asked(brief: Brief) -> List[str]:
    """The topics (intents) the claimant asked about, in the order first asked."""
    seen: List[str] = []
    for turn in brief.transcript:
        if turn.speaker == "claimant" and turn.intent and turn.intent not in NOT_ASKED and turn.intent not in seen:
            seen.append(turn.intent)
    return seen


def answered(events: Iterable[Any]) -> List[Dict[str, Any]]:
    """What the bot sent, in order: `{topic, parts}` per knowledge-base topic (`answer` for the
    answer itself, then each part asked for with its button), and `{check, parts: []}` per
    pre-check result."""
    found: Dict[str, Dict[str, Any]] = {}
    intent, entities = None, {}
    for event in events:
        if not isinstance(event, Mapping):
            continue
        if event.get("event") == "user":
            parse = event.get("parse_data") if isinstance(event.get("parse_data"), Mapping) else {}
            intent = (parse.get("intent") or {}).get("name") if isinstance(parse.get("intent"), Mapping) else None
            entities = {e.get("entity"): e.get("value") for e in parse.get("entities") or []
                        if isinstance(e, Mapping)}
        elif event.get("event") == "action":
            name = event.get("name")
            if name == ANSWER_ACTION and isinstance(intent, str):
                _add(found, intent, "answer")
            elif name == PART_ACTION and isinstance(entities.get("answer_topic"), str):
                _add(found, entities["answer_topic"], str(entities.get("answer_part") or "answer"))
            elif name in CHECK_RESULTS:
                found.setdefault("check:" + CHECK_RESULTS[name], {"check": CHECK_RESULTS[name], "parts": []})
    return list(found.values())


def _add(found: Dict[str, Dict[str, Any]], topic: str, part: str) -> None:
    entry = found.setdefault(topic, {"topic": topic, "parts": []})
    if part not in entry["parts"]:
        entry["parts"].append(part)


def _answer(answer: Mapping[str, Any], title: Callable[[str], str], words: Mapping[str, Any]) -> str:
    if "check" in answer:
        return words["checks"].get(answer["check"], answer["check"])
    parts = [words["answer"] if p == "answer" else words["parts"].get(p, p) for p in answer["parts"]]
    return words["topic_parts"].format(topic=title(answer["topic"]), parts=words["list"].join(parts))


def _signals_line(brief: Brief, words: Mapping[str, Any]) -> Optional[Line]:
    said, marks = [], []
    for kind, levels in (("distress", DISTRESS_LEVELS), ("complexity", COMPLEXITY_LEVELS)):
        signals = [s for s in brief.signals if s.kind == kind and s.level in levels]
        if not signals:
            continue
        level = max((s.level for s in signals), key=levels.index)
        evidence = _unique(e["text"] for s in signals for e in s.evidence if e.get("text"))[:MAX_EVIDENCE]
        needs = _unique(n for s in signals for n in s.needs)
        text = words[kind].format(level=words["levels"].get(level, level))
        if needs:
            text += words["needs"].format(needs=words["list"].join(needs))
        if evidence:
            text += words["evidence"].format(words=words["list"].join(
                words["quote"].format(words=w) for w in evidence))
        said.append(text)
        marks.extend(evidence)
    if not said:
        return None
    return Line("signals", words["signals"].format(signals=words["signal_joiner"].join(said)), marks)


def _fact(fact: Fact, words: Mapping[str, Any]) -> str:
    forms = words["facts"][fact.name]
    if fact.name == "job_end":
        form = forms.get(fact.value, str(fact.value))
    elif fact.name == "registered":
        form = forms[bool(fact.value)]
    elif fact.name == "gender":
        form = forms[None] if fact.value == "male" else forms.get(
            f"female {fact.detail}" if fact.detail else "female", forms["female"])
    elif fact.name == "birth_year" and fact.detail:
        form = forms["month"]
    else:
        form = forms.get(fact.detail) or forms[None]
    month = int(fact.detail) if fact.name == "birth_year" and fact.detail else None
    return form.format(value=fact.value, detail=fact.detail, month=month)


def _latest_fitting(template: str, slot: str, items: List[str], limit: int, joiner: str,
                    words: Mapping[str, Any]) -> str:
    """`template` with the latest of `items` (at most `limit`, fewer if the line would be longer
    than LINE_CHARS), the earlier ones only counted. The latest is always named (cut if need be)."""
    for shown in range(min(limit, len(items)), 0, -1):
        earlier = len(items) - shown
        text = template.format(**{slot: (words["earlier"].format(n=earlier) if earlier else "")
                                  + joiner.join(items[earlier:])})
        if len(text) <= LINE_CHARS or shown == 1:
            return text
    return template.format(**{slot: ""})


def _unique(items: Iterable[str]) -> List[str]:
    seen: List[str] = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen


def _cut(text: str) -> str:
    return text if len(text) <= LINE_CHARS else text[:LINE_CHARS - 1] + "…"
