"""One retention period: the privacy notices promise the period the purge job applies."""
from __future__ import annotations

import pytest

from actions import privacy as privacy_actions
from bot.channels.web import protocol
from bot.channels.web.config import WebSettings
from bot.channels.web.exceptions import ConfigError
from core.privacy import period
from core.privacy.retention import RetentionSettings

SECRET = "s" * 32


def promised_and_applied(env):
    """(days the widget's notice shows, days the purge applies)."""
    env = {"RENBEN_WEB_SECRET": SECRET, **env}
    web = WebSettings.build(env=env)
    frame = protocol.session_frame(token="t", conversation_id="web-x", language="zh", restored=False,
                                   history=[], last_seq="0-0",
                                   retention_days=period.as_number(web.retention_days))
    return frame["retention_days"], RetentionSettings.from_env(env).retention_days


def test_the_notice_and_the_purge_default_to_the_same_period(tmp_path):
    assert promised_and_applied({"RENBEN_VAR_DIR": str(tmp_path)}) == (90, 90)


def test_retention_days_sets_the_notice_and_the_purge_together(tmp_path):
    shown, applied = promised_and_applied({"RENBEN_VAR_DIR": str(tmp_path), "RETENTION_DAYS": "30"})
    assert shown == applied == 30 and isinstance(shown, int)  # "30", not "30.0", in the notice


def test_the_old_web_setting_no_longer_promises_another_period(tmp_path):
    shown, applied = promised_and_applied({"RENBEN_VAR_DIR": str(tmp_path), "RETENTION_DAYS": "30",
                                           "RENBEN_WEB_RETENTION_DAYS": "365"})
    assert shown == applied == 30
    credentials = WebSettings.build({"retention_days": 365}, env={"RENBEN_WEB_SECRET": SECRET})
    assert credentials.retention_days == period.DEFAULT_RETENTION_DAYS


def test_the_bots_notice_shows_the_purge_period(tmp_path, monkeypatch):
    monkeypatch.setenv("RENBEN_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("RETENTION_DAYS", "45")
    privacy_actions.settings.cache_clear()
    try:
        assert privacy_actions._days() == "45"
        assert privacy_actions.settings().retention_days == 45
    finally:
        privacy_actions.settings.cache_clear()


@pytest.mark.parametrize("text", ["ninety", "0", "-3"])
def test_an_unusable_period_stops_the_channel_and_the_purge_alike(text):
    env = {"RENBEN_WEB_SECRET": SECRET, "RETENTION_DAYS": text}
    with pytest.raises(ConfigError, match="RETENTION_DAYS"):
        WebSettings.build(env=env)
    with pytest.raises(period.InvalidRequest, match="RETENTION_DAYS"):
        RetentionSettings.from_env(env)


def test_a_fractional_period_is_kept_as_it_is():
    assert period.retention_days({"RETENTION_DAYS": "0.5"}) == 0.5
    assert period.as_number(0.5) == 0.5 and period.as_number(90.0) == 90
