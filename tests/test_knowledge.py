"""The knowledge base is complete: every topic, both languages, sources and a review date."""
from __future__ import annotations

import datetime
import re

import pytest
import yaml

from actions import knowledge
from bot.settings import ROOT

TOPICS = ["ask_pension", "ask_unemployment", "ask_medical", "ask_work_injury", "ask_maternity",
          "ask_disability_care", "ask_assistance", "ask_social_card", "ask_transfer", "ask_contribution",
          "ask_payment_status", "ask_documents", "report_change", "complaint_appeal", "data_rights"]
ENTRIES = knowledge.load()


@pytest.mark.parametrize("topic", TOPICS)
def test_every_topic_has_an_entry_in_both_languages(topic):
    entry = ENTRIES[topic]
    for language in ("zh", "en"):
        text = entry.text(language)
        assert entry.texts.get(language), f"{topic} has no {language} text"
        assert text.get("title") and len(str(text.get("answer", ""))) > 40
        assert text.get("steps"), f"{topic}/{language} has no steps"
        where = text.get("where") or {}
        assert set(where) & set(knowledge.WHERE_KEYS), f"{topic}/{language} says nowhere to apply"
        if entry.varies_by_place:
            assert text.get("local"), f"{topic}/{language} varies by place but does not say where to look"


@pytest.mark.parametrize("topic", TOPICS + ["foreign_employees"])
def test_every_entry_cites_its_sources_and_was_reviewed(topic):
    entry = ENTRIES[topic]
    assert entry.sources, f"{topic} cites no source"
    for source in entry.sources:
        assert source.title["zh"] and source.title["en"] and source.url.startswith("http")
    reviewed = datetime.date.fromisoformat(entry.last_reviewed)
    assert reviewed <= datetime.date.today()
    for related in entry.related:
        assert related in ENTRIES or related == "request_human", f"{topic} points to a missing entry {related}"


def test_english_answers_cover_foreign_employees():
    entry = ENTRIES["foreign_employees"]
    text = str(entry.text("en")).lower()
    assert "agreement" in text and "leav" in text and ("must" in text or "required" in text)


def test_eligibility_figures_match_the_law():
    figures = yaml.safe_load((ROOT / "data" / "kb" / "eligibility.yml").read_text(encoding="utf-8"))
    bands = figures["unemployment"]
    text = yaml.safe_dump(bands)
    # Social Insurance Law, Art. 45-46: at least one year paid; 12, 18 or 24 months.
    for months in ("12", "18", "24"):
        assert re.search(rf"\b{months}\b", text)
    pension = yaml.safe_dump(figures["pension"])
    assert "1965" in pension and "63" in pension and "58" in pension and "55" in pension
