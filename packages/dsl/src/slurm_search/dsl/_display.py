"""Showing an experiment's AST: as text, as equations, and as a graphviz graph.

Every way of drawing a node lives here (``str(node)`` and ``node.abstract()``
call `expression` and `equation`); a node is known by its class's ``kind``
(call, use, measure, sampling), so this module imports no node class.

``ast_text`` and ``ast_abstract`` are pure. ``ast_dot`` builds the DOT source
(the ``graphviz`` package needs no program for that); ``render_graph`` writes
it and, if graphviz's ``dot`` program is installed, renders an SVG beside it.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "ast_text",
    "ast_abstract",
    "ast_dot",
    "expression",
    "equation",
    "node_label",
    "render_graph",
    "GraphResult",
    "DOT_MISSING",
]

logger = logging.getLogger(__name__)

DOT_MISSING = (
    "graphviz's `dot` program is not installed, so only the DOT file was written; "
    "install it (apt-get install graphviz, brew install graphviz or conda install graphviz) "
    "and run again, or render it with `dot -Tsvg {dot} -o {svg}`"
)

# Equation names of a measure over a sampling node, by (measure, strategy); None: any strategy.
_EQUATION_NAMES: dict[tuple[str | None, str], str] = {
    ("mean", "enumeration"): "1/n ∑",
    ("mean", "random"): "E",
    ("std", "random"): "√Var",
    ("std", "enumeration"): "√Var",
}
_PLAIN_MEASURES = ("min", "max", "cdf", "argmin", "argmax", "model_argmin", "model_argmax")


def _is_node(value: Any) -> bool:
    return isinstance(getattr(type(value), "kind", None), str)


def _indent(text: str) -> str:
    return text.replace("\n", "\n    ")


def _value(value: Any) -> str:
    return expression(value) if _is_node(value) else repr(value)


def _space(space: Any) -> str:
    return space if isinstance(space, str) else " ".join(repr(space).split())


def relation(node: Any) -> str:
    """How a sampling node binds its variable: ``in`` (enumeration) or ``~`` (sampled)."""
    return "in" if node.strategy == "enumeration" else "~"


def expression(node: Any) -> str:
    """A node as the expression that builds it (``str(node)``)."""
    if node.kind == "call":
        parts = [_value(a) if _is_node(a) else str(a) for a in node.args]
        parts += [f"{k}={_value(v) if _is_node(v) else v}" for k, v in node.kwargs.items()]
        return f"{node.name}({', '.join(parts)})"
    if node.kind == "use":
        return f"use({node.param} = {_indent(_value(node.value))})[\n    {_indent(_value(node.expr))}\n]"
    if node.kind == "measure":
        return f"{node.text}({expression(node.expr)})"
    if node.kind == "sampling":
        return (
            f"{node.function}[{node.var} ~ {_space(node.space)}](\n"
            f"    {_indent(_value(node.expr))},\n"
            f"    sample_count={node.sample_count},\n"
            f"    method={node.method},\n"
            f"    threads={node.threads},\n"
            + (f"    measure={':'.join(node.measure)},\n" if node.measure else "")
            + ")"
        )
    return type(node).__name__


def equation(node: Any, measure: list[str] | None = None) -> str:
    """A node as an equation (E, 1/n ∑, √Var, argmax, λ over point values); ``measure`` is applied to it."""
    if node.kind == "use":
        value = equation(node.value) if _is_node(node.value) else repr(node.value)
        expr = equation(node.expr, measure) if _is_node(node.expr) else repr(node.expr)
        return f"use({node.param} = {_indent(value)})[\n    {_indent(expr)}\n]"
    if node.kind == "measure":
        return equation(node.expr, node.measure + list(measure or []))
    if node.kind != "sampling":
        return expression(node)
    head, rest = (measure[0], measure[1:]) if measure else (None, None)
    inner = equation(node.expr, rest or None) if _is_node(node.expr) else repr(node.expr)
    space = _space(node.space)
    if head == "point_values":
        return f"λ {node.var} {relation(node)} {space} -> (\n    {_indent(inner)}\n)"
    name = _EQUATION_NAMES.get((head, node.strategy)) or (head if head in _PLAIN_MEASURES else None)
    name = name or (f"{head}_{node.function}" if head else node.function)
    return f"{name}({node.var} {relation(node)} {space}) [\n    {_indent(inner)}\n]"


def node_label(node: Any) -> str:
    """A node's label in the graph."""
    if node.kind == "sampling":
        space = node.space if isinstance(node.space, str) else "space"
        extra = (
            f", {'minimize' if node.strategy == 'minimize' else 'maximize'} {':'.join(node.measure)}"
            if node.measure
            else ""
        )
        count = "" if node.strategy == "enumeration" else f"n={node.sample_count}, "
        return f"{node.function}({node.var} {relation(node)} {space}; {count}{node.method}{extra})"
    if node.kind == "measure":
        return f"[{node.text}]"
    if node.kind == "use":
        return f"use {node.param}"
    if node.kind == "call":
        return f"{node.name}({', '.join(node.arguments)})"
    return type(node).__name__


def _entries(tree: Any) -> list[tuple[str, Any]]:
    """``(key, value)`` pairs of a dict or list of the result tree (a node's children for a node)."""
    if _is_node(tree):
        return tree.children()
    if isinstance(tree, Mapping):
        return [(str(k), v) for k, v in tree.items()]
    if isinstance(tree, (list, tuple)):
        return [(str(i), v) for i, v in enumerate(tree)]
    return []


def _lines(tree: Any, render: Callable[[Any], str]) -> str:
    if isinstance(tree, Mapping):
        out = []
        for key, value in tree.items():
            text = _lines(value, render)
            out.append(f"{key}: {text}".replace("\n", "\n    ") if "\n" in text else f"{key}: {text}")
        return "\n".join(out)
    return render(tree) if _is_node(tree) else repr(tree)


def ast_text(tree: Any) -> str:
    """The result tree as nested node expressions, one key per line."""
    return _lines(tree, expression)


def ast_abstract(tree: Any) -> str:
    """The result tree as equations (E, 1/n ∑, √Var, argmax, λ over point values)."""
    return _lines(tree, equation)


def ast_dot(tree: Any, name: str = "experiment") -> Any:
    """A ``graphviz.Digraph`` of the result tree: result keys, nodes (shared ones once), edges by segment."""
    import graphviz

    graph = graphviz.Digraph(name=name, graph_attr={"rankdir": "LR"}, node_attr={"fontname": "Helvetica"})
    ids: dict[int, str] = {}

    def visit(node: Any) -> str:
        if id(node) in ids:
            return ids[id(node)]
        node_id = f"n{len(ids)}"
        ids[id(node)] = node_id
        shape = {"sampling": "box3d", "measure": "diamond", "use": "house"}.get(node.kind, "ellipse")
        graph.node(node_id, node_label(node), shape=shape)
        for segment, child in node.children():
            if _is_node(child):
                graph.edge(
                    node_id,
                    visit(child),
                    label="" if segment in ("@",) or segment == getattr(node, "text", None) else segment,
                )
        return node_id

    def top(tree: Any, prefix: str) -> None:
        for key, value in _entries(tree):
            key_id = f"k{prefix}{key}".replace(":", "_")
            label = f"{prefix}{key}"
            if _is_node(value):
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
    proc = subprocess.run(
        [program, "-Tsvg", str(dot_path), "-o", str(svg_path)], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        return GraphResult(dot_path, None, f"dot failed on {dot_path}: {proc.stderr.strip()}")
    return GraphResult(dot_path, svg_path, f"AST drawn in {svg_path} (DOT source {dot_path})")
