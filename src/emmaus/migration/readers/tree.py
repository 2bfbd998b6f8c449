"""Message trees of exports that keep every branch (ChatGPT's `mapping`, Open WebUI's
`history.messages`): nodes that are not imported (the empty root, hidden or tool nodes) are
left out and their children hang from the nearest kept ancestor; the current node names the
active branch."""

from __future__ import annotations

from dataclasses import dataclass

from emmaus.migration.source import SourceMessage, topological


@dataclass(slots=True)
class Node:
    parent: str | None
    message: SourceMessage | None  # None: not imported (the reason is in the reader's skipped)


@dataclass(slots=True)
class Pruned:
    messages: list[SourceMessage]  # parents before children
    active_leaf: str | None
    problems: list[str]


def prune(nodes: dict[str, Node], current: str | None) -> Pruned:
    problems: list[str] = []

    def kept_ancestor(start: str | None, of: str) -> str | None:
        seen = {of}
        at = start
        while at is not None:
            if at in seen:
                problems.append(f"node {of!r}: its parents form a cycle; made a root")
                return None
            seen.add(at)
            node = nodes.get(at)
            if node is None:
                problems.append(f"node {of!r}: parent {at!r} is not in the export; made a root")
                return None
            if node.message is not None:
                return at
            at = node.parent
        return None

    kept = []
    for node_id, node in nodes.items():
        if node.message is not None:
            node.message.parent = kept_ancestor(node.parent, node_id)
            kept.append(node.message)
    leaf = None
    if current is not None:
        if current not in nodes:
            problems.append(f"the current node {current!r} is not in the export")
        elif nodes[current].message is not None:
            leaf = current
        else:
            leaf = kept_ancestor(nodes[current].parent, current)
    ordered = topological(kept)
    if len(ordered) < len(kept):
        problems.append(f"{len(kept) - len(ordered)} messages whose parents form a cycle: left out")
        if leaf not in {m.source_id for m in ordered}:
            leaf = None
    return Pruned(ordered, leaf, problems)
