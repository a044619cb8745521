"""The large shape of the code (docs/architecture.md, issue 18): which package may import which,
every Redis key named in one registry, and the rename map of the moves kept true.

    core  <-  bot, handoff  <-  actions  <-  tooling

Read statically (ast), lazy imports inside functions included, so nothing is imported to check.
"""
from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Set, Tuple

import pytest

from core.settings import ROOT
from tooling.apply_renames import RenameMap, rewrite

PACKAGES = ("core", "bot", "handoff", "actions", "tooling")
#: Neither Rasa nor its web framework: core runs in every process, the desk's included.
RASA = ("rasa", "rasa_sdk", "sanic")
KEY_PREFIX = "renben:"
REGISTRY = ROOT / "core" / "redis_keys.py"


def modules() -> Iterator[Tuple[str, Path]]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            yield ".".join(path.relative_to(ROOT).with_suffix("").parts), path


def imported(module: str, path: Path) -> Set[str]:
    """Every module `path` imports, anywhere in the file, as absolute dotted names."""
    found: Set[str] = set()
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            found.add(".".join(base + ([node.module] if node.module else [])))
    return found


def package_graph() -> Dict[str, Dict[str, str]]:
    """package -> {package it imports: one module that does, for the message}."""
    graph: Dict[str, Dict[str, str]] = {package: {} for package in PACKAGES}
    for module, path in modules():
        source = module.split(".")[0]
        for name in imported(module, path):
            target = name.split(".")[0]
            if target in PACKAGES and target != source:
                graph[source].setdefault(target, module)
    return graph


def find_cycle(graph: Dict[str, Dict[str, str]]) -> Optional[List[str]]:
    """One cycle of packages (first repeated at the end), or None."""
    state: Dict[str, int] = {}  # 1 on the path, 2 done

    def visit(node: str, path: List[str]) -> Optional[List[str]]:
        state[node] = 1
        for nxt in sorted(graph.get(node, {})):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [node, nxt] if nxt in path else path + [node, nxt]
            if nxt not in state:
                cycle = visit(nxt, path + [node])
                if cycle:
                    return cycle
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state:
            cycle = visit(start, [])
            if cycle:
                return cycle
    return None


def test_the_cycle_finder_finds_a_cycle_and_accepts_layers():
    assert find_cycle({"a": {"b": "a.x"}, "b": {"c": "b.y"}, "c": {"a": "c.z"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"core": {}, "bot": {"core": "bot.x"}, "tooling": {"bot": "t", "core": "t"}}) is None


def test_no_import_cycle_between_the_top_level_packages():
    graph = package_graph()
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(
        f"{a} ({graph[a][b]})" for a, b in zip(cycle, cycle[1:])) + f" -> {cycle[-1]}"


def test_the_layers_hold():
    """core imports no other package; bot and handoff only core; nothing imports tooling."""
    graph = package_graph()
    allowed = {"core": set(), "bot": {"core"}, "handoff": {"core"}, "actions": {"core", "bot", "handoff"},
               "tooling": {"core", "bot", "handoff", "actions"}}
    wrong = {f"{source} -> {target} ({module})" for source, targets in graph.items()
             for target, module in targets.items() if target not in allowed[source]}
    assert not wrong, sorted(wrong)


def test_core_imports_nothing_from_rasa():
    wrong = [f"{module}: {name}" for module, path in modules() if module.startswith("core.")
             for name in imported(module, path) if name.split(".")[0] in RASA]
    assert not wrong, wrong


# ----------------------------------------------------------------------------- the key registry

def key_literals(path: Path) -> List[Tuple[int, str]]:
    """String constants in code (not docstrings) that start like a Redis key of ours."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
            and (node.value.startswith(KEY_PREFIX) or node.value == KEY_PREFIX.rstrip(":"))]


def test_every_redis_key_is_spelled_in_the_registry_alone():
    strays = [f"{path.relative_to(ROOT)}:{line}: {text!r}" for _, path in modules() if path != REGISTRY
              for line, text in key_literals(path)]
    assert not strays, "name these in core/redis_keys.py: " + "; ".join(strays)


def test_the_stray_key_check_sees_a_literal_key(tmp_path):
    path = tmp_path / "m.py"
    path.write_text('"""Uses `renben:x` (a docstring is fine)."""\nKEY = "renben:queue:"\nf"renben:{1}"\n')
    assert [text for _, text in key_literals(path)] == ["renben:queue:", "renben:"]


def test_the_registry_spells_each_key_once():
    from core import redis_keys

    values: Dict[str, str] = {}
    for name in dir(redis_keys):
        value = getattr(redis_keys, name)
        if name.isupper() and isinstance(value, str) and value.startswith(KEY_PREFIX) and value != KEY_PREFIX:
            assert value not in values, f"{name} and {values.get(value)} are both {value!r}"
            values[value] = name


# ----------------------------------------------------------------------------- the rename map

RENAMES = RenameMap.read()


def module_path(dotted: str) -> Optional[Path]:
    base = ROOT.joinpath(*dotted.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py", base / "__main__.py"):
        if candidate.exists():
            return candidate
    return None


def defines(path: Path, name: str) -> bool:
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name:
            return True
        targets = node.targets if isinstance(node, ast.Assign) else \
            [node.target] if isinstance(node, ast.AnnAssign) else []
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            return True
    return False


@pytest.mark.parametrize("old,new", sorted(RENAMES.modules.items()))
def test_each_moved_module_is_at_its_new_place_and_gone_from_the_old(old, new):
    assert module_path(new), f"{new} does not exist"
    assert module_path(old) is None, f"{old} still exists: no compatibility copies"


@pytest.mark.parametrize("old,new", sorted(RENAMES.names.items()))
def test_each_moved_name_is_defined_where_the_map_says(old, new):
    module, _, name = new.rpartition(".")
    path = module_path(module)
    assert path and defines(path, name), f"{new} is not defined"
    old_module, _, old_name = old.rpartition(".")
    old_path = module_path(old_module) or module_path(RENAMES.module(old_module) or old_module)
    if old_path and old_path != path:
        assert not defines(old_path, old_name), f"{old} is still defined: no copies"


def test_the_rewriter_moves_imports_attributes_and_module_strings():
    source = ('from bot import redis_clients, launch_helpers\n'
              'from bot.settings import ROOT, endpoints\n'
              'from bot.channels.web import constants as keys\n'
              'import bot.launch as launcher\n'
              'X = keys.SESSION_STREAM + keys.PENDING_TTL\n'
              'monkeypatch.setattr("bot.launch.time", None)\n')
    assert rewrite(source, RENAMES) == (
        'from core import redis_clients\nfrom bot import launch_helpers\n'
        'from core.settings import ROOT\nfrom bot.settings import endpoints\n'
        'from bot.channels.web import constants as keys\n'
        'import tooling.launch as launcher\n'
        'from core import redis_keys\n'
        'X = redis_keys.WEB_SESSION_STREAM + keys.PENDING_TTL\n'
        'monkeypatch.setattr("tooling.launch.time", None)\n')
