"""Claimants' data rights, as pure functions the actions call: which right a `data_rights` message
asks for, and the claimant's copy of their conversation (readable text and JSON).

One intent (`data_rights`) covers every right; the words decide which (`classify_request`), so the
NLU model needs no sub-intents and the choice is testable without a model. Order matters:
objection, then erasure, rectification, a copy, seeing; anything else gets the explanation. A
negated erasure ("don't delete", "不要删除") is not an erasure.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Dict, Iterable, List, Mapping, Optional

from core.privacy.redaction import mask

KINDS = ("object", "erase", "rectify", "export", "access", "info")

_WORDS = {
    "object": r"反对|反對|拒绝自动|拒絕自動|人工复核|人工複核|人工审核|人工審核|人工复查|自动化决定|自動化決定|"
    r"机器决定|機器決定|\bobject|automated decision|automatic decision|human review|"
    r"decided by a (?:machine|computer|bot)",
    "erase": r"删除|刪除|删掉|刪掉|清除|抹掉|销毁|銷毀|忘记我|忘記我|\bdelete|\berase|\bremove|\bwipe|"
    r"forget (?:me|everything)",
    "rectify": r"更正|改正|纠正|糾正|修改我|修正|不对|不對|错了|錯了|有误|有誤|\bcorrect|\brectify|\bfix\b|"
    r"\bwrong\b|\bupdate my|\bchange my",
    "export": r"导出|導出|下载|下載|副本|拷贝|拷貝|复制一份|複製一份|\bexport|\bdownload|\ba copy",
    "access": r"保存了|存了|保留了|记录了|記錄了|什么信息|什麼信息|哪些信息|哪些数据|哪些資料|查看我的|看看我的|"
    r"what (?:data|information|info) do you|what do you (?:keep|store|hold|know)|"
    r"what have you (?:kept|stored|saved)|see my (?:data|information)|\baccess my",
}
_NEGATED_ERASE = re.compile(
    r"不要删|不要刪|别删|別刪|不用删|不用刪|don'?t (?:delete|erase|remove)|"
    r"do not (?:delete|erase|remove)|never (?:delete|erase)",
    re.IGNORECASE,
)
_PATTERNS = {kind: re.compile(words, re.IGNORECASE) for kind, words in _WORDS.items()}


def classify_request(text: Optional[str]) -> str:
    """Which right a data_rights message asks for: one of KINDS ("info": explain them all)."""
    text = text or ""
    for kind in ("object", "erase", "rectify", "export", "access"):
        if _PATTERNS[kind].search(text):
            if kind == "erase" and _NEGATED_ERASE.search(text):
                continue
            return kind
    return "info"


def transcript(events: Iterable[Mapping[str, Any]]) -> List[Dict[str, Any]]:
    """The turns of a tracker's events: who spoke (claimant, assistant, agent), what, when (ISO
    UTC). Agent messages are bot events whose metadata names an agent."""
    turns = []
    for event in events:
        kind = event.get("event")
        text = event.get("text")
        if kind not in ("user", "bot") or not text:
            continue
        metadata = event.get("metadata") or {}
        speaker = "claimant" if kind == "user" else ("agent" if metadata.get("agent_id") else "assistant")
        turns.append({"speaker": speaker, "text": text, "time": _iso(event.get("timestamp"))})
    return turns


_LABELS = {
    "zh": {"claimant": "你", "assistant": "助手", "agent": "工作人员"},
    "en": {"claimant": "You", "assistant": "Assistant", "agent": "Staff"},
}


def transcript_text(turns: List[Mapping[str, Any]], language: str, *, masked: bool = True) -> str:
    """The turns as lines a person reads ("你: ..."). Identifiers are masked by default: the copy
    travels over the same channel as the conversation, and may be seen over a shoulder."""
    labels = _LABELS.get(language, _LABELS["zh"])
    lines = []
    for turn in turns:
        text = mask(turn["text"]) if masked else turn["text"]
        lines.append(f"[{turn['time'][11:16]}] {labels.get(turn['speaker'], turn['speaker'])}: {text}")
    return "\n".join(lines)


def export_payload(
    conversation_id: str,
    turns: List[Mapping[str, Any]],
    slots: Mapping[str, Any],
    *,
    retention_days: float,
    now: Optional[dt.datetime] = None,
) -> Dict[str, Any]:
    """The custom payload carrying the claimant's copy as JSON (the web widget offers it as a
    download named `filename`; other channels show the text copy sent with it)."""
    moment = (now or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)
    kept = {
        name: value
        for name, value in slots.items()
        if value not in (None, "", [], {}) and not name.startswith("requested_slot")
    }
    return {
        "type": "data_export",
        "filename": f"renben-conversation-{moment:%Y%m%d-%H%M}.json",
        "data": {
            "format": "renben.conversation.v1",
            "conversation_id": conversation_id,
            "exported_at": moment.isoformat(timespec="seconds"),
            "retention_days": retention_days,
            "turns": list(turns),
            "details_remembered": kept,
        },
    }


def _iso(timestamp: Any) -> str:
    try:
        return dt.datetime.fromtimestamp(float(timestamp), dt.timezone.utc).isoformat(timespec="seconds")
    except (TypeError, ValueError, OverflowError, OSError):
        return ""
