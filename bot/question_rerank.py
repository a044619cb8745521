"""Weighing a long message's question over its story: pure functions over intent rankings.

The intent classifier ranks the whole message, the asking sentences together (bot/sentences.py)
and each story sentence. `blend` mixes the whole message's ranking with the question's (a weighted
geometric mean, the question weighing `question_weight`); `secondary_topics` names the topics the story sentences are
clearly about besides the one asked, for the agent's brief and the complexity signal.
A ranking is Rasa's: a list of {"name": intent, "confidence": p}, best first.
"""
from __future__ import annotations

import math
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

Ranking = Sequence[Mapping[str, Any]]
#: What an intent a ranking left out (Rasa keeps the best ten) counts there, so one reading
#: alone cannot rule an intent out completely.
FLOOR = 1e-3

#: Intents that are moves in the conversation, not topics a story can be about.
NOT_TOPICS = frozenset({"greet", "goodbye", "thank", "affirm", "deny", "bot_challenge", "stop", "inform",
                        "correct_answer", "nlu_fallback", "out_of_scope", "request_human", "csat_rate",
                        "show_answer_part"})


def blend(whole: Ranking, question: Ranking, question_weight: float) -> List[Dict[str, Any]]:
    """A weighted geometric mean of the whole message's ranking and the question's, question
    weighing `w`: p(i) proportional to whole(i)^(1-w) * question(i)^w (an intent one of them left
    out of its ranking counts `FLOOR` there), normalised, best first.

    Geometric, not an average: asking sentences read alone lose the story's context ("can I get
    both?") and the classifier is then often sure of a wrong topic; an average lets that certainty
    overturn a whole message it reads just as surely, while here an intent must be likely in both
    to win. The confidences still add up to 1, so the FallbackClassifier's thresholds keep
    their meaning (where the two disagree the result is less sure, as it should be)."""
    w = min(1.0, max(0.0, float(question_weight)))
    names = {entry.get("name") for ranking in (whole, question) for entry in ranking} - {None, ""}
    whole_p, question_p = _probabilities(whole), _probabilities(question)
    scores = {name: (1.0 - w) * math.log(whole_p.get(name, 0.0) + FLOOR)
              + w * math.log(question_p.get(name, 0.0) + FLOOR) for name in names}
    top = max(scores.values(), default=0.0)
    weights = {name: math.exp(score - top) for name, score in scores.items()}
    total = sum(weights.values()) or 1.0
    return [{"name": name, "confidence": weight / total}
            for name, weight in sorted(weights.items(), key=lambda kv: (-kv[1], kv[0]))]


def _probabilities(ranking: Ranking) -> Dict[str, float]:
    return {entry["name"]: float(entry.get("confidence") or 0.0) for entry in ranking if entry.get("name")}


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
