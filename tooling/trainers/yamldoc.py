"""YAML files read with their line numbers, so every problem can say where to look.

`YamlDoc.read(path)` parses one file; `doc.line("responses", "utter_x", 0)` is the 1-based line of
that node (or of its deepest ancestor that exists). Read errors raise `YamlReadError` with the
file and line: callers turn it into a problem for the trainer.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Tuple, Union

import yaml

Key = Union[str, int]


class YamlReadError(ValueError):
    """The file is not valid YAML. `path` and `line` (1-based) say where."""

    def __init__(self, path: Path, line: int, reason: str):
        super().__init__(f"{path}:{line}: {reason}")
        self.path, self.line, self.reason = path, line, reason


@dataclass(frozen=True)
class YamlDoc:
    path: Path
    data: Any
    node: Optional[yaml.Node]

    @classmethod
    def read(cls, path: Path) -> "YamlDoc":
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as error:
            raise YamlReadError(path, 1, f"not UTF-8 text ({error.reason})") from error
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        except yaml.MarkedYAMLError as error:
            mark = error.problem_mark or error.context_mark
            raise YamlReadError(path, (mark.line + 1) if mark else 1, f"{error.problem or 'not valid YAML'}") from error
        finally:
            loader.dispose()
        return cls(path, data, node)

    def line(self, *keys: Key) -> int:
        """1-based line of the node at `keys`, or of the deepest ancestor found."""
        node = self.node
        if node is None:
            return 1
        found, shown = node, node
        for key in keys:
            child = _child(found, key)
            if child is None:
                break
            shown, found = child
        return shown.start_mark.line + 1


def _child(node: yaml.Node, key: Key) -> Optional[Tuple[yaml.Node, yaml.Node]]:
    """(the node whose line to show, the node to descend into) for `key` under `node`.

    For a mapping entry the key's line is shown: a block value starts on the line after it."""
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == str(key):
                return key_node, value_node
        return None
    if isinstance(node, yaml.SequenceNode) and isinstance(key, int) and 0 <= key < len(node.value):
        return node.value[key], node.value[key]
    return None
