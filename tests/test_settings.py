"""Settings from the environment and the endpoints they produce."""
from __future__ import annotations

import pytest

from core.settings import Settings, SettingsError, redis_parts
from bot.settings import endpoints


def test_embedded_defaults_need_no_configuration(tmp_path):
    settings = Settings.from_env({"RENBEN_VAR_DIR": str(tmp_path)})
    config = endpoints(settings, "redis://127.0.0.1:7000/0")
    assert config["tracker_store"] == {"type": "bot.tracker_store.SQLTrackerStore", "dialect": "sqlite", "db": str(tmp_path / "tracker.db")}
    assert config["lock_store"]["type"] == "bot.lock_store.RenewingLockStore"
    assert config["lock_store"]["port"] == 7000
    token = settings.token()
    assert len(token) >= 32 and settings.token() == token  # generated once, kept
    assert (tmp_path / "auth_token").stat().st_mode & 0o777 == 0o600


def test_the_wechat_gateway_port_defaults_to_5006_and_comes_from_the_environment():
    assert Settings.from_env({}).wechat_port == 5006
    assert Settings.from_env({"WECHAT_PORT": "8443"}).wechat_port == 8443


def test_answers_are_brief_unless_the_operator_asks_for_the_full_answer():
    assert Settings.from_env({}).answer_style == "brief"
    assert Settings.from_env({"RENBEN_ANSWER_STYLE": "Full "}).answer_style == "full"
    with pytest.raises(SettingsError, match="RENBEN_ANSWER_STYLE"):
        Settings.from_env({"RENBEN_ANSWER_STYLE": "long"})


def test_production_settings_come_from_the_environment(tmp_path):
    settings = Settings.from_env({
        "RENBEN_VAR_DIR": str(tmp_path), "RASA_AUTH_TOKEN": "s3cret",
        "TRACKER_STORE_URL": "postgresql://rasa:p%40ss@db.internal:6543/renben",
        "REDIS_URL": "rediss://:pw@cache.internal:6380/2",
    })
    assert settings.token() == "s3cret" and not (tmp_path / "auth_token").exists()
    config = endpoints(settings, settings.redis_url)
    assert config["tracker_store"] == {"type": "bot.tracker_store.SQLTrackerStore", "dialect": "postgresql", "url": "db.internal",
                                       "port": 6543, "db": "renben", "username": "rasa", "password": "p@ss"}
    lock = config["lock_store"]
    assert (lock["url"], lock["port"], lock["db"], lock["use_ssl"], lock["password"]) == \
        ("cache.internal", 6380, 2, True, "pw")


@pytest.mark.parametrize("env", [
    {"RASA_PORT": "eighty"}, {"ACTIONS_PORT": "70000"}, {"WECHAT_PORT": "0"},
])
def test_a_bad_port_is_named(env):
    with pytest.raises(SettingsError, match=next(iter(env))):
        Settings.from_env(env)


@pytest.mark.parametrize("url", ["http://x:6379", "redis://x:6379/zero"])
def test_a_bad_redis_url_is_refused(url):
    with pytest.raises(SettingsError):
        redis_parts(url)


def test_a_tracker_store_url_must_be_postgresql(tmp_path):
    settings = Settings(var_dir=tmp_path, tracker_store_url="mysql://x/y")
    with pytest.raises(SettingsError, match="postgresql"):
        endpoints(settings, "redis://127.0.0.1:6379/0")
