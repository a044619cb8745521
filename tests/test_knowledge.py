"""The knowledge base is complete: every topic, both languages, sources and a review date."""
from __future__ import annotations

import datetime
import re

import pytest
import yaml

from actions import knowledge
from core.settings import ROOT

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
def test_every_entry_has_a_short_answer_in_both_languages_stating_only_the_entrys_figures(topic):
    from tooling.trainers.checks import SHORT_MAX_SENTENCES, facts

    entry = ENTRIES[topic]
    for language in ("zh", "en"):
        text = entry.text(language)
        short = str(text.get("short") or "").strip()
        assert short and len(short) < 0.8 * len(str(text["answer"])), (topic, language)
        sentences = [s for s in re.split(r"[。！？!?]|\.(?=\s|$)", short) if s.strip()]
        assert 2 <= len(sentences) <= SHORT_MAX_SENTENCES, (topic, language, sentences)
        rest = set().union(*(facts(t, language) for t in _strings({k: v for k, v in text.items() if k != "short"})))
        assert facts(short, language) <= rest, (topic, language, facts(short, language) - rest)


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


# ------------------------------------------------------------- issue 19: facts a claimant can act on

def _strings(value) -> list:
    if isinstance(value, dict):
        return [t for item in value.values() for t in _strings(item)]
    if isinstance(value, list):
        return [t for item in value for t in _strings(item)]
    return [str(value)]


def _texts(entry_id: str, language: str) -> str:
    """Every text of one language of an entry, one per line."""
    return "\n".join(_strings(dict(ENTRIES[entry_id].text(language))))


def _documents(entry_id: str, language: str) -> str:
    return "\n".join(ENTRIES[entry_id].text(language).get("documents") or [])


@pytest.mark.parametrize("entry_id", ["ask_unemployment", "ask_documents"])
def test_unemployment_benefit_needs_no_certificate_from_the_employer(entry_id):
    # National practice since MOHRSS notice [2020] 24: the social security card or ID is enough and the
    # agency checks that contributions stopped; it may not demand a termination certificate.
    assert "解除劳动关系证明" not in _documents(entry_id, "zh") and "离职证明" not in _documents(entry_id, "zh")
    assert "from your employer" not in _documents(entry_id, "en") and "labour relationship" not in _documents(entry_id, "en")
    assert "不需要单位开" in _texts(entry_id, "zh")
    assert "do not need a certificate from your employer" in _texts(entry_id, "en")


def test_the_unemployment_answer_says_a_refused_certificate_does_not_stop_a_claim():
    assert "单位不给开证明，你照样可以申请" in _texts("ask_unemployment", "zh")
    assert "If your employer will not give you a certificate, you can still claim" in _texts("ask_unemployment", "en")


@pytest.mark.parametrize("language, first, court", [
    ("zh", "要先申请行政复议，不能直接起诉", "自知道该决定之日起60日内"),
    ("en", "must apply for administrative reconsideration first and cannot go straight to court",
     "within 60 days of the day you learned of the decision"),
])
def test_benefit_decisions_go_to_reconsideration_first_within_60_days_of_knowing(language, first, court):
    answer = str(ENTRIES["complaint_appeal"].text(language)["answer"])
    assert first in answer and court in answer
    refs = {s.ref for s in ENTRIES["complaint_appeal"].sources}
    assert {"arl-11", "arl-20", "arl-23"} <= refs


@pytest.mark.parametrize("entry_id", ["complaint_appeal", "ask_contribution"])
def test_contributions_the_employer_owes_go_to_the_collection_agency_not_arbitration(entry_id):
    zh, en = _texts(entry_id, "zh"), _texts(entry_id, "en")
    assert "向社保费征收机构投诉" in zh and "一般不受理要求单位补缴" in zh and "赔偿损失" in zh
    assert "complain to the contribution collection agency" in en
    assert "usually do not take a request that the employer pay contributions" in en and "damages" in en


@pytest.mark.parametrize("language, groups, insurances", [
    ("zh", "只是该国国籍并不能免缴", "中日协定只免职工基本养老保险"),
    ("en", "Being a national of the country is not enough on its own", "with Japan only the basic pension"),
])
def test_bilateral_agreements_exempt_named_groups_from_named_insurances_only(language, groups, insurances):
    answer = str(ENTRIES["foreign_employees"].text(language)["answer"])
    assert groups in answer and insurances in answer


@pytest.mark.parametrize("language, portability, restriction", [
    ("zh", "转给你指定的其他机构", "限制或者拒绝"),
    ("en", "transferred to another organisation you name", "restrict or refuse"),
])
def test_data_rights_name_portability_and_restriction_and_how_to_use_them_here(language, portability, restriction):
    entry = ENTRIES["data_rights"]
    text = _texts("data_rights", language)
    assert portability in text and restriction in text
    assert ("导出我的数据" in text and "反对" in text) if language == "zh" else \
        ("export my data" in text and "I object" in text)
    titles = " ".join(s.title["en"] for s in entry.sources)
    assert "Article 44" in titles and "third paragraph" in titles


def test_the_phrases_the_data_rights_answer_suggests_reach_the_right_action():
    from core.privacy.rights import classify_request

    assert classify_request("我反对处理我的信息") == classify_request("I object to the processing of my data") == "object"
    assert classify_request("导出我的数据") == classify_request("export my data") == "export"


@pytest.mark.parametrize("entry_id", sorted(e for e in ENTRIES if "12393" in str(ENTRIES[e].texts)))
def test_every_answer_giving_12393_says_its_hours_and_area_code_are_local(entry_id):
    assert "区号" in _texts(entry_id, "zh") and "各地不同" in _texts(entry_id, "zh")
    assert "area code" in _texts(entry_id, "en") and "differ by place" in _texts(entry_id, "en")
    assert "hotline-12393" in {s.ref for s in ENTRIES[entry_id].sources}


def test_a_source_named_as_the_state_council_measures_points_at_the_national_text():
    for entry_id, entry in ENTRIES.items():
        for source in entry.sources:
            if source.title["en"].startswith("State Council Measures"):
                host = source.url.split("/")[2]
                assert host in {"www.gov.cn", "www.mohrss.gov.cn"}, (entry_id, source.ref, source.url)


def test_12356_is_not_promised_around_the_clock_and_110_120_are():
    contacts = {c["number"]: c for c in yaml.safe_load((ROOT / "data" / "crisis_contacts.yml").read_text(
        encoding="utf-8"))["contacts"]}
    hotline = contacts["12356"]["when"]
    assert "day or night" not in hotline["en"] and "随时" not in hotline["zh"]
    assert "18" in hotline["zh"] and "18 hours" in hotline["en"] and "120" in hotline["en"]
    for number in ("110", "120"):
        assert "24小时" in contacts[number]["when"]["zh"] and "always" in contacts[number]["when"]["en"]


@pytest.mark.parametrize("entry_id", sorted(ENTRIES))
def test_every_step_and_document_reads_as_one_text(entry_id):
    # A plain YAML line holding ": " becomes a mapping, and the claimant would see "{...}".
    for language in ("zh", "en"):
        text = ENTRIES[entry_id].text(language)
        for key in ("steps", "documents"):
            assert all(isinstance(item, str) for item in text.get(key) or []), (entry_id, language, key)
        assert all(isinstance(value, str) for value in (text.get("where") or {}).values()), (entry_id, language)


def test_every_crisis_contact_reads_as_one_text_per_language():
    # In a {zh: ..., en: ...} flow mapping an unquoted "," ends the text early.
    contacts = yaml.safe_load((ROOT / "data" / "crisis_contacts.yml").read_text(encoding="utf-8"))["contacts"]
    for contact in contacts:
        for field in ("name", "when"):
            assert set(contact[field]) == {"zh", "en"}, (contact["id"], field, contact[field])
            assert all(isinstance(v, str) and v for v in contact[field].values())
