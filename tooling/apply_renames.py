"""Rewrites Python files for the package moves of issue 18 (`tooling/rename_map.tsv`).

    python -m tooling.apply_renames PATH...      rewrite these files (directories: every *.py under them)
    python -m tooling.apply_renames --check PATH...   only list the files that would change (exit 1 if any)

Each line of the map is `old<TAB>new`: a moved module (`bot.launch<TAB>tooling.launch`; a package
moves with everything under it) or, after the line `# names`, a moved name
(`bot.channels.web.constants.OUTBOX_STREAM<TAB>core.redis_keys.WEB_OUTBOX_STREAM`). What is rewritten:

* `from M import a, b as c` and `import M [as A]`: each imported name goes to where it now lives
  (one `from` line per new module, aliases kept; a renamed name keeps the old name as its alias
  only when the file used it bare, so `from old import X` becomes `from new import NEW as X`);
* `A.NAME` where `A` is a module imported in the file and `old.NAME` moved: `B.NEW`, with `B` the
  new module imported (`from core import redis_keys`) when the file does not import it yet;
* string literals naming a moved module (`"bot.launch"`, `"bot.launch.time"` in a monkeypatch).

It does not touch comments or docstrings' prose, and it never guesses: a name it cannot place stays
as it was, and the test run says what is left. Read the diff before committing it.
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

MAP_FILE = Path(__file__).with_name("rename_map.tsv")


@dataclass(frozen=True)
class RenameMap:
    modules: Dict[str, str]  # old module (or package) -> new
    names: Dict[str, str]  # old module.NAME -> new module.NAME

    @classmethod
    def read(cls, path: Path = MAP_FILE) -> "RenameMap":
        """Lines `old<TAB>new`; those after a `# names` line are names, those before, modules."""
        modules: Dict[str, str] = {}
        names: Dict[str, str] = {}
        section = modules
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip().lower() == "# names":
                section = names
            if not line.strip() or line.startswith("#"):
                continue
            parts = line.split("\t")
            if len(parts) != 2:
                raise ValueError(f"{path}:{number}: expected old<TAB>new, got {line!r}")
            section[parts[0].strip()] = parts[1].strip()
        return cls(modules, names)

    def module(self, dotted: str) -> Optional[str]:
        """Where the module (or a name inside it, by its dotted path) `dotted` now is, or None."""
        if dotted in self.names:
            return self.names[dotted]
        parts = dotted.split(".")
        for end in range(len(parts), 0, -1):
            head = ".".join(parts[:end])
            if head in self.modules:
                return ".".join([self.modules[head], *parts[end:]])
        return None

    def moved_names_of(self, module: str) -> Dict[str, str]:
        """NAME -> new dotted path, for the names that left `module` (given by its old path)."""
        prefix = module + "."
        return {
            old[len(prefix) :]: new
            for old, new in self.names.items()
            if old.startswith(prefix) and "." not in old[len(prefix) :]
        }


def _split(dotted: str) -> Tuple[str, str]:
    parent, _, last = dotted.rpartition(".")
    return parent, last


# ----------------------------------------------------------------------------- one file


def rewrite(source: str, renames: RenameMap) -> str:
    """`source` with its imports, module attributes and module-naming strings moved."""
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    edits: List[Tuple[int, int, str]] = []  # (first line, last line) 1-based inclusive -> text
    module_aliases: Dict[str, str] = {}  # alias in this file -> the old module it names
    new_aliases: Dict[str, str] = {}  # new module -> an alias this file binds it to
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                full = alias.name if isinstance(node, ast.Import) else f"{node.module}.{alias.name}"
                if isinstance(node, ast.ImportFrom) and (node.level or not node.module):
                    continue
                bound = alias.asname or (alias.name.split(".")[0] if isinstance(node, ast.Import) else alias.name)
                if isinstance(node, ast.Import) and not alias.asname:
                    continue  # `import a.b` binds `a`: attribute rewriting is not attempted
                module_aliases[bound] = full
                target = renames.module(full) or full
                new_aliases.setdefault(target, bound)

    needed: Dict[str, str] = {}  # new module -> alias to import it under
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            text = _rewrite_from(node, renames, lines)
            if text is not None:
                edits.append((node.lineno, node.end_lineno or node.lineno, text))
        elif isinstance(node, ast.Import):
            text = _rewrite_import(node, renames, lines)
            if text is not None:
                edits.append((node.lineno, node.end_lineno or node.lineno, text))

    out = _apply(lines, edits)
    # Attributes of imported modules whose names moved: `k.SEEN` -> `redis_keys.WECHAT_SEEN`.
    for bound, old_module in module_aliases.items():
        for name, new in renames.moved_names_of(old_module).items():
            pattern = re.compile(rf"(?<![\w.]){re.escape(bound)}\.{re.escape(name)}\b")
            if not pattern.search(out):
                continue
            new_module, new_name = _split(new)
            alias = new_aliases.get(new_module)
            if alias is None:
                alias = needed.setdefault(new_module, _split(new_module)[1])
            out = pattern.sub(f"{alias}.{new_name}", out)
    if needed:
        out = _add_imports(out, needed)
    return _rewrite_strings(out, renames)


def _rewrite_from(node: ast.ImportFrom, renames: RenameMap, lines: List[str]) -> Optional[str]:
    groups: Dict[str, List[str]] = {}
    changed = False
    for alias in node.names:
        full = f"{node.module}.{alias.name}"
        target = renames.module(full)
        if target is None and renames.module(node.module) is not None:
            target = f"{renames.module(node.module)}.{alias.name}"
        if target is None:
            target = full
        else:
            changed = True
        parent, last = _split(target)
        bound = alias.asname or alias.name
        groups.setdefault(parent, []).append(last if bound == last else f"{last} as {bound}")
    if not changed:
        return None
    indent = re.match(r"\s*", lines[node.lineno - 1]).group(0)
    comment = _trailing_comment(lines[(node.end_lineno or node.lineno) - 1])
    statements = [f"{indent}from {parent} import {', '.join(names)}" for parent, names in groups.items()]
    statements[-1] += comment
    return "\n".join(statements) + "\n"


def _rewrite_import(node: ast.Import, renames: RenameMap, lines: List[str]) -> Optional[str]:
    parts, changed = [], False
    for alias in node.names:
        target = renames.module(alias.name)
        if target is None:
            parts.append(alias.name + (f" as {alias.asname}" if alias.asname else ""))
            continue
        changed = True
        parts.append(target + (f" as {alias.asname}" if alias.asname else ""))
    if not changed:
        return None
    indent = re.match(r"\s*", lines[node.lineno - 1]).group(0)
    return f"{indent}import {', '.join(parts)}{_trailing_comment(lines[(node.end_lineno or node.lineno) - 1])}\n"


def _trailing_comment(line: str) -> str:
    match = re.search(r"\s+#.*$", line.rstrip("\n"))
    return match.group(0) if match and line.count("#") == 1 else ""


def _apply(lines: List[str], edits: Sequence[Tuple[int, int, str]]) -> str:
    out = list(lines)
    for first, last, text in sorted(edits, reverse=True):
        out[first - 1 : last] = [text]
    return "".join(out)


def _add_imports(source: str, needed: Dict[str, str]) -> str:
    """Adds `from parent import last [as alias]` after the file's last top-level import."""
    tree = ast.parse(source)
    anchor = 0
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            anchor = node.end_lineno or node.lineno
    lines = source.splitlines(keepends=True)
    new = []
    for module, alias in sorted(needed.items()):
        parent, last = _split(module)
        new.append(f"from {parent} import {last}" + (f" as {alias}" if alias != last else "") + "\n")
    lines[anchor:anchor] = new
    return "".join(lines)


def _rewrite_strings(source: str, renames: RenameMap) -> str:
    """Quoted dotted module paths ("bot.launch", "bot.launch.time") -> their new paths."""
    roots = sorted({old.split(".")[0] for old in renames.modules}, key=len, reverse=True)
    pattern = re.compile(r"""(?P<q>["'])(?P<path>(?:%s)(?:\.\w+)+)(?P=q)""" % "|".join(map(re.escape, roots)))

    def replace(match: "re.Match[str]") -> str:
        target = renames.module(match["path"])
        return f"{match['q']}{target}{match['q']}" if target else match.group(0)

    return pattern.sub(replace, source)


# ----------------------------------------------------------------------------- command line


def python_files(paths: Iterable[str]) -> List[Path]:
    found: List[Path] = []
    for name in paths:
        path = Path(name)
        found.extend(sorted(p for p in path.rglob("*.py") if "__pycache__" not in p.parts) if path.is_dir() else [path])
    return found


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tooling.apply_renames", description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--check", action="store_true", help="list what would change, change nothing")
    parser.add_argument("--map", type=Path, default=MAP_FILE)
    args = parser.parse_args(argv)
    renames = RenameMap.read(args.map)
    changed = []
    for path in python_files(args.paths):
        source = path.read_text(encoding="utf-8")
        try:
            result = rewrite(source, renames)
        except SyntaxError as error:
            print(f"{path}: not Python ({error}); left as it is", file=sys.stderr)
            continue
        if result != source:
            changed.append(path)
            if not args.check:
                path.write_text(result, encoding="utf-8")
    for path in changed:
        print(path)
    return 1 if args.check and changed else 0


if __name__ == "__main__":
    sys.exit(main())
