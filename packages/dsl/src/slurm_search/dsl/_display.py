"""Showing an experiment's AST: as text, as equations, and as a graphviz graph.

``ast_text`` and ``ast_abstract`` are pure. ``ast_dot`` builds the DOT source
(the ``graphviz`` package needs no program for that); ``render_graph`` writes
it and, if graphviz's ``dot`` program is installed, renders an SVG beside it.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ._nodes import CallNode, MeasureNode, Node, SamplingNode, UseNode, children

__all__ = ["ast_text", "ast_abstract", "ast_dot", "node_label", "render_graph", "GraphResult", "DOT_MISSING"]

logger = logging.getLogger(__name__)

DOT_MISSING = (
    "graphviz's `dot` program is not installed, so only the DOT file was written; "
    "install it (apt-get install graphviz, brew install graphviz or conda install graphviz) "
    "and run again, or render it with `dot -Tsvg {dot} -o {svg}`"
)


def _lines(tree: Any, render) -> str:
    if isinstance(tree, Mapping):
        out = []
        for key, value in tree.items():
            text = _lines(value, render)
            out.append(f"{key}: {text}".replace("\n", "\n    ") if "\n" in text else f"{key}: {text}")
        return "\n".join(out)
    return render(tree) if isinstance(tree, Node) else repr(tree)


def ast_text(tree: Any) -> str:
    """The result tree as nested node expressions, one key per line."""
    return _lines(tree, str)


def ast_abstract(tree: Any) -> str:
    """The result tree as equations (E, 1/n ∑, √Var, argmax, λ over point values)."""
    return _lines(tree, lambda node: node.abstract())


def node_label(node: Any) -> str:
    """A node's label in the graph."""
    if isinstance(node, SamplingNode):
        space = node.space if isinstance(node.space, str) else "space"
        symbol = "in" if node.strategy == "enumeration" else "~"
        extra = f", {'minimize' if node.strategy == 'minimize' else 'maximize'} {':'.join(node.measure)}" if node.measure else ""
        count = "" if node.strategy == "enumeration" else f"n={node.sample_count}, "
        return f"{node.function}({node.var} {symbol} {space}; {count}{node.method}{extra})"
    if isinstance(node, MeasureNode):
        return f"[{node.text}]"
    if isinstance(node, UseNode):
        return f"use {node.param}"
    if isinstance(node, CallNode):
        return f"{node.name}({', '.join(node.arguments)})"
    return type(node).__name__


def ast_dot(tree: Any, name: str = "experiment") -> Any:
    """A ``graphviz.Digraph`` of the result tree: result keys, nodes (shared ones once), edges by segment."""
    import graphviz

    graph = graphviz.Digraph(name=name, graph_attr={"rankdir": "LR"}, node_attr={"fontname": "Helvetica"})
    ids: dict[int, str] = {}

    def visit(node: Node) -> str:
        if id(node) in ids:
            return ids[id(node)]
        node_id = f"n{len(ids)}"
        ids[id(node)] = node_id
        shape = {SamplingNode: "box3d", MeasureNode: "diamond", UseNode: "house"}.get(type(node), "ellipse")
        graph.node(node_id, node_label(node), shape=shape)
        for segment, child in children(node):
            if isinstance(child, Node):
                graph.edge(node_id, visit(child), label="" if segment in ("@",) or segment == getattr(node, "text", None) else segment)
        return node_id

    def top(tree: Any, prefix: str) -> None:
        for key, value in children(tree):
            key_id = f"k{prefix}{key}".replace(":", "_")
            label = f"{prefix}{key}"
            if isinstance(value, Node):
                graph.node(key_id, label, shape="note", style="filled", fillcolor="lightyellow")
                graph.edge(key_id, visit(value))
            elif isinstance(value, (Mapping, list, tuple)):
                top(value, label + ".")
            else:
                graph.node(key_id, f"{label} = {value!r}", shape="note")

    top(tree, "")
    return graph


class GraphResult:
    """Where ``render_graph`` wrote: ``dot`` always, ``svg`` when graphviz's program ran."""

    def __init__(self, dot: Path, svg: Path | None, message: str) -> None:
        self.dot = dot
        self.svg = svg
        self.message = message


def render_graph(tree: Any, folder: Path, stem: str = "ast") -> GraphResult:
    """Write ``<folder>/<stem>.dot`` and, with graphviz's ``dot`` installed, ``<stem>.svg``."""
    folder.mkdir(parents=True, exist_ok=True)
    graph = ast_dot(tree)
    dot_path = folder / f"{stem}.dot"
    svg_path = folder / f"{stem}.svg"
    dot_path.write_text(graph.source)
    program = shutil.which("dot")
    if program is None:
        return GraphResult(dot_path, None, DOT_MISSING.format(dot=dot_path, svg=svg_path))
    proc = subprocess.run([program, "-Tsvg", str(dot_path), "-o", str(svg_path)], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        return GraphResult(dot_path, None, f"dot failed on {dot_path}: {proc.stderr.strip()}")
    return GraphResult(dot_path, svg_path, f"AST drawn in {svg_path} (DOT source {dot_path})")
