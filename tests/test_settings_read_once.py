"""The environment is read in one place: core/settings.py (`Settings.from_env`, called once by each
process's `main()`), and in the `main()`s themselves. Everything else takes the settings it is
given (or the process's, `core.settings.current()`), so a setting has one meaning everywhere."""
from __future__ import annotations

import ast
from pathlib import Path
from typing import Iterator, List, Optional, Tuple

import pytest

from core import settings as core_settings
from core.settings import ROOT, Settings, SettingsError

PACKAGES = ("core", "bot", "actions", "tooling", "handoff")
ALLOWED_FILES = {"core/settings.py"}
#: None left: the desk parses its own settings from the process settings' copy of the environment.
NOT_YET: set = set()
#: Telling a library something, or handing the environment on to a child process, is not reading a
#: setting: `os.environ.setdefault(...)` / `.update(...)` as a statement, and `{**os.environ, ...}`.
WRITES = ("setdefault", "update")


def _environment_reads(tree: ast.AST) -> Iterator[Tuple[int, str]]:
    """(line, enclosing function) of every read of os.environ / os.getenv outside a `main()`."""
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}

    def enclosing_function(node: ast.AST) -> Optional[str]:
        while node in parents:
            node = parents[node]
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                return node.name
        return None

    def in_main(node: ast.AST) -> bool:
        while node in parents:
            node = parents[node]
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == "main":
                return True
        return False

    for node in ast.walk(tree):
        is_environ = isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv") \
            and isinstance(node.value, ast.Name) and node.value.id == "os"
        is_environ = is_environ or (isinstance(node, ast.ImportFrom) and node.module == "os"
                                    and any(a.name in ("environ", "getenv") for a in node.names))
        if not is_environ:
            continue
        parent = parents.get(node)
        if isinstance(parent, ast.Dict) and None in parent.keys \
                and parent.values[parent.keys.index(None)] is node:
            continue  # {**os.environ, ...}: a child process's environment
        if isinstance(parent, ast.Attribute) and parent.attr in WRITES \
                and isinstance(parents.get(parents.get(parent)), ast.Expr):
            continue
        if in_main(node) or _is_main_default(node, parents):
            continue
        yield node.lineno, enclosing_function(node) or "<module>"


def _is_main_default(node: ast.AST, parents: dict) -> bool:
    """`def main(..., env=os.environ)`: the default of a main()'s parameter."""
    arguments = parents.get(node)
    function = parents.get(arguments)
    return isinstance(arguments, ast.arguments) and isinstance(function, ast.FunctionDef) \
        and function.name == "main"


def environment_reads(root: Path = ROOT) -> List[str]:
    found = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            name = path.relative_to(root).as_posix()
            if name in ALLOWED_FILES or name in NOT_YET:
                continue
            for line, where in sorted(_environment_reads(ast.parse(path.read_text(encoding="utf-8")))):
                found.append(f"{name}:{line} in {where}()")
    return found


def test_only_the_settings_module_and_mains_read_the_environment():
    assert environment_reads() == [], (
        "read the setting in core/settings.py (a Settings field, built once in main()) and pass it "
        "down, or take it from core.settings.current()")


def test_the_check_finds_a_read_in_a_function_and_leaves_main_and_child_environments(tmp_path):
    package = tmp_path / "bot"
    package.mkdir()
    (package / "reader.py").write_text(
        "import os\nfrom os import getenv\n"
        "def token():\n    return os.environ.get('RASA_AUTH_TOKEN')\n"
        "def other(env=os.environ):\n    return env\n"
        "def spawn():\n    return {**os.environ, 'A': '1'}\n"
        "def quiet():\n    os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')\n"
        "def main(env=os.environ):\n    return os.getenv('X')\n")
    assert environment_reads(tmp_path) == ["bot/reader.py:2 in <module>()", "bot/reader.py:4 in token()",
                                           "bot/reader.py:5 in other()"]


def test_the_process_settings_are_the_ones_main_installed(monkeypatch):
    installed = core_settings.install(Settings.from_env({"RETENTION_DAYS": "12", "REDIS_URL": "redis://r:1/0"}))
    monkeypatch.setenv("RETENTION_DAYS", "99")  # read once: a later change does not count
    assert core_settings.current() is installed and core_settings.current().retention_days == 12


def test_the_channels_take_the_process_settings(tmp_path):
    from bot.channels.web.config import WebSettings
    from bot.channels.wechat.config import WeChatSettings

    core_settings.install(Settings.from_env({"RENBEN_VAR_DIR": str(tmp_path), "REDIS_URL": "redis://r:1/0",
                                             "RENBEN_WEB_BURST": "7", "WECHAT_TOKEN": "t"}))
    web, wechat = WebSettings.build(), WeChatSettings.build()
    assert web.redis_url == wechat.redis_url == "redis://r:1/0"
    assert web.rate.capacity == 7 and wechat.token == "t" and (tmp_path / "web_secret").exists()


def test_a_bad_action_timeout_stops_the_process_with_its_name():
    with pytest.raises(SettingsError, match="RENBEN_ACTION_TIMEOUT"):
        Settings.from_env({"RENBEN_ACTION_TIMEOUT": "soon"})
    assert Settings.from_env({"RENBEN_ACTION_TIMEOUT": "2.5"}).action_timeout == 2.5
