"""Weighing a long message's question over its story: pure functions over intent rankings.

The intent classifier ranks the whole message, the asking sentences together (bot/sentences.py)
and each story sentence. `blend` mixes the whole message's ranking with the question's, the
question weighing `question_weight`; `secondary_topics` names the topics the story sentences are
clearly about besides the one asked, for the agent's brief and the complexity signal.
A ranking is Rasa's: a list of {"name": intent, "confidence": p}, best first.
"""
from __future__ import annotations

from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

Ranking = Sequence[Mapping[str, Any]]

#: Intents that are moves in the conversation, not topics a story can be about.
NOT_TOPICS = frozenset({"greet", "goodbye", "thank", "affirm", "deny", "bot_challenge", "stop", "inform",
                        "correct_answer", "nlu_fallback", "out_of_scope", "request_human", "csat_rate",
                        "show_answer_part"})


def blend(whole: Ranking, question: Ranking, question_weight: float) -> List[Dict[str, Any]]:
    """(1 - w) * whole + w * question for every intent either ranks (an intent one of them left
    out of its ranking counts 0 there), best first. Confidences still add up to about 1, so the
    FallbackClassifier's threshold means what it meant."""
    w = min(1.0, max(0.0, float(question_weight)))
    scores: Dict[str, float] = {}
    for ranking, share in ((whole, 1.0 - w), (question, w)):
        for entry in ranking:
            name = entry.get("name")
            if name:
                scores[name] = scores.get(name, 0.0) + share * float(entry.get("confidence") or 0.0)
    return [{"name": name, "confidence": confidence}
            for name, confidence in sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))]


def secondary_topics(pieces: Iterable[Tuple[Tuple[int, int], Optional[Mapping[str, Any]]]], *,
                     asked: Optional[str], minimum: float, most: int) -> List[Dict[str, Any]]:
    """The topics of story sentences, besides the one `asked`: each sentence's best intent when it
    is a topic with at least `minimum` confidence; per topic the surest sentence ({"intent",
    "confidence", "start", "end"}); surest first, at most `most`."""
    best: Dict[str, Dict[str, Any]] = {}
    for (start, end), intent in pieces:
        if not intent:
            continue
        name, confidence = intent.get("name"), float(intent.get("confidence") or 0.0)
        if not name or name in NOT_TOPICS or name == asked or confidence < minimum:
            continue
        if name not in best or confidence > best[name]["confidence"]:
            best[name] = {"intent": name, "confidence": round(confidence, 4), "start": start, "end": end}
    return sorted(best.values(), key=lambda t: (-t["confidence"], t["start"]))[:most]
