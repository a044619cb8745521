"""One retention period, `Settings.retention_days`: the privacy notices promise the period the
purge job applies."""
from __future__ import annotations

import time

import pytest

from actions import privacy as privacy_actions
from bot.channels.web import protocol
from bot.channels.web.config import WebSettings
from core import settings as core_settings
from core.privacy import period, retention
from core.privacy.retention import RetentionSettings
from core.settings import Settings, SettingsError

SECRET = "s" * 32
DAY = 86400


def promised_and_applied(env):
    """(days the widget's notice shows, days the bot's notice shows, days the purge applies), each
    built the way its process builds it from the one settings object its main() made."""
    process = core_settings.install(Settings.from_env({"RENBEN_WEB_SECRET": SECRET, **env}))
    web = WebSettings.build(settings=process)
    frame = protocol.session_frame(token="t", conversation_id="web-x", language="zh", restored=False,
                                   history=[], last_seq="0-0",
                                   retention_days=period.as_number(web.retention_days))
    privacy_actions.settings.cache_clear()
    try:
        bots = privacy_actions._days()
    finally:
        privacy_actions.settings.cache_clear()
    return frame["retention_days"], bots, RetentionSettings.from_settings(process).retention_days


def test_the_notices_and_the_purge_default_to_the_same_period(tmp_path):
    assert promised_and_applied({"RENBEN_VAR_DIR": str(tmp_path)}) == (90, "90", 90)


def test_retention_days_sets_the_notices_and_the_purge_together(tmp_path):
    shown, bots, applied = promised_and_applied({"RENBEN_VAR_DIR": str(tmp_path), "RETENTION_DAYS": "30"})
    assert shown == applied == 30 and bots == "30" and isinstance(shown, int)  # "30", not "30.0"


def test_the_purge_deletes_what_the_notice_says_it_deletes(tmp_path):
    """A conversation last active one day more than the promised period ago is past the purge's
    cutoff; one a day less is not."""
    shown, _, applied = promised_and_applied({"RENBEN_VAR_DIR": str(tmp_path), "RETENTION_DAYS": "30"})
    now = time.time()
    before = retention.cutoff(now, applied)
    assert now - (shown + 1) * DAY < before < now - (shown - 1) * DAY


def test_the_old_web_name_still_sets_the_one_period_with_a_warning(tmp_path):
    with pytest.warns(DeprecationWarning, match="RENBEN_WEB_RETENTION_DAYS is deprecated"):
        shown, bots, applied = promised_and_applied({"RENBEN_VAR_DIR": str(tmp_path),
                                                     "RENBEN_WEB_RETENTION_DAYS": "60"})
    assert shown == applied == 60 and bots == "60"  # the purge follows it too: still one period


def test_retention_days_wins_over_the_old_name(tmp_path):
    shown, bots, applied = promised_and_applied({"RENBEN_VAR_DIR": str(tmp_path), "RETENTION_DAYS": "30",
                                                 "RENBEN_WEB_RETENTION_DAYS": "365"})
    assert shown == applied == 30 and bots == "30"


def test_a_credentials_entry_cannot_promise_another_period(tmp_path):
    process = Settings.from_env({"RENBEN_VAR_DIR": str(tmp_path), "RENBEN_WEB_SECRET": SECRET})
    assert WebSettings.build({"retention_days": 365}, settings=process).retention_days == 90


@pytest.mark.parametrize("text", ["ninety", "0", "-3"])
def test_an_unusable_period_stops_every_process_before_it_starts(text):
    with pytest.raises(SettingsError, match="RETENTION_DAYS"):
        Settings.from_env({"RETENTION_DAYS": text})
    with pytest.raises(SettingsError, match="RETENTION_DAYS"):
        RetentionSettings.from_env({"RETENTION_DAYS": text})


def test_a_fractional_period_is_kept_as_it_is():
    assert Settings.from_env({"RETENTION_DAYS": "0.5"}).retention_days == 0.5
    assert period.as_number(0.5) == 0.5 and period.as_number(90.0) == 90
