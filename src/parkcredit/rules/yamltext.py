"""The one YAML reader of rule-set text a person supplies: plain YAML, bounded work.

PyYAML's SafeLoader refuses Python objects but still expands aliases: 406 bytes of nested
aliases (`a: &a [x, x, …]`, `b: &b [*a, *a, …]`, …) make a document of billions of nodes — 28 s
and 5 GB to refuse at the service's door. A rule set never needs anchors or aliases (each rule
is written out), so `compose` refuses the first `&anchor` or `*alias` where it stands, before
anything is expanded, and caps the text (`MAX_CHARS`), the node count (`MAX_NODES`) and the
nesting (`MAX_DEPTH`). Every refusal is a `yaml.MarkedYAMLError` naming the line.
"""

from __future__ import annotations

from typing import Any

import yaml

__all__ = ["MAX_CHARS", "MAX_DEPTH", "MAX_NODES", "BoundedLoader", "load_document"]

MAX_CHARS = 200_000  # the bundled rule sets are ~19 KB
MAX_NODES = 10_000  # ~1,400 in a bundled rule set; the scanner costs ~15 µs a node
MAX_DEPTH = 40  # ~8 in a bundled rule set


class _Refused(yaml.MarkedYAMLError):
    pass


def _refused(event: Any, problem: str) -> _Refused:
    """The refusal of the node starting at `event`, pointing at its line and column."""
    return _Refused(None, None, problem, event.start_mark)


class BoundedLoader(yaml.SafeLoader):
    """SafeLoader without anchors and aliases, with a node and a depth cap."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._nodes = 0
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent):
            raise _refused(event, f"aliases (*{(event.anchor or '')[:40]}) are not allowed in a rule set; write the "
                           "value out")  # fmt: skip
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            raise _refused(event, f"anchors (&{anchor[:40]}) are not allowed in a rule set; write the value out")
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise _refused(event, f"more than {MAX_NODES:,} YAML nodes")
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _refused(event, f"nested deeper than {MAX_DEPTH} levels")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def load_document(text: str) -> tuple[yaml.Node | None, Any]:
    """(root node, Python value) of one YAML document; `yaml.YAMLError` for bad, aliased or oversized text."""
    if len(text) > MAX_CHARS:
        raise yaml.YAMLError(f"the text is {len(text):,} characters; a rule set is at most {MAX_CHARS:,}")
    loader = BoundedLoader(text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    finally:
        loader.dispose()
    return root, data
