"""YAML that remembers where each value came from.

Protocols, reference tables and rule sets are written by people; an error must point at
the file, line and column. PyYAML's safe composer gives nodes with marks; we build plain
dicts and lists that also carry those marks. Only the safe loader is used, so no file can
execute code, and node and depth budgets stop alias bombs and absurd nesting.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

MAX_NODES = 200_000
MAX_DEPTH = 64
MAX_BYTES = 2_000_000


@dataclass(frozen=True)
class Mark:
    path: str
    line: int  # 1-based
    column: int  # 1-based

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"


class SourceError(Exception):
    """A problem in a text file, located at file:line:column."""

    def __init__(self, mark: Mark, message: str) -> None:
        super().__init__(f"{mark}: {message}")
        self.mark = mark
        self.message = message


class LocatedDict(dict[str, Any]):
    """A mapping with the mark of itself, of each key and of each value."""

    mark: Mark
    key_marks: dict[str, Mark]
    value_marks: dict[str, Mark]

    def mark_of(self, key: str) -> Mark:
        return self.value_marks.get(key, self.mark)


class LocatedList(list[Any]):
    mark: Mark
    item_marks: list[Mark]

    def mark_of(self, index: int) -> Mark:
        return self.item_marks[index] if index < len(self.item_marks) else self.mark


def mark_of(value: Any, fallback: Mark) -> Mark:
    return getattr(value, "mark", fallback)


def load_yaml_file(path: str | Path) -> Any:
    source = Path(path)
    try:
        size = source.stat().st_size
        if size > MAX_BYTES:
            raise SourceError(Mark(str(source), 1, 1),
                              f"file is {size} bytes; the limit is {MAX_BYTES}")
        text = source.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise SourceError(Mark(str(source), 1, 1), f"not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise SourceError(Mark(str(source), 1, 1), exc.strerror or str(exc)) from None
    return load_yaml_text(text, str(source))


def load_yaml_text(text: str, path: str) -> Any:
    """Parse `text` (named `path` in messages) into located dicts and lists."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = Mark(path, mark.line + 1, mark.column + 1) if mark else Mark(path, 1, 1)
        raise SourceError(where, f"YAML syntax: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise SourceError(Mark(path, 1, 1), f"YAML: {exc}") from None
    except RecursionError:
        raise SourceError(Mark(path, 1, 1), "YAML nested too deeply") from None
    if node is None:
        raise SourceError(Mark(path, 1, 1), "file is empty")
    return _Builder(path).build(node, 0)


class _Builder:
    def __init__(self, path: str) -> None:
        self.path = path
        self.nodes = 0
        self.constructor = yaml.SafeLoader("")

    def mark(self, node: yaml.Node) -> Mark:
        return Mark(self.path, node.start_mark.line + 1, node.start_mark.column + 1)

    def build(self, node: yaml.Node, depth: int) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise SourceError(self.mark(node), f"more than {MAX_NODES} YAML nodes "
                              "(aliases expanding too far?)")
        if depth > MAX_DEPTH:
            raise SourceError(self.mark(node), f"nested deeper than {MAX_DEPTH} levels")
        if (isinstance(node, yaml.CollectionNode)
                and node.tag not in (yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
                                     yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG)):
            # a tag such as !!python/object/apply on a list would otherwise be dropped
            raise SourceError(self.mark(node), f"bad value: unsupported tag {node.tag!r}")
        if isinstance(node, yaml.MappingNode):
            result = LocatedDict()
            result.mark = self.mark(node)
            result.key_marks = {}
            result.value_marks = {}
            for key_node, value_node in node.value:
                key = self.build(key_node, depth + 1)
                if not isinstance(key, str):
                    raise SourceError(self.mark(key_node), f"keys must be text, got {key!r}")
                if key in result:
                    raise SourceError(self.mark(key_node), f"duplicate key '{key}'")
                result.key_marks[key] = self.mark(key_node)
                result.value_marks[key] = self.mark(value_node)
                result[key] = self.build(value_node, depth + 1)
            return result
        if isinstance(node, yaml.SequenceNode):
            items = LocatedList()
            items.mark = self.mark(node)
            items.item_marks = []
            for item in node.value:
                items.item_marks.append(self.mark(item))
                items.append(self.build(item, depth + 1))
            return items
        try:
            return self.constructor.construct_object(node, deep=True)
        except yaml.YAMLError as exc:  # one line: the problem, not PyYAML's snippet
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise SourceError(self.mark(node), f"bad value: {problem}") from None
