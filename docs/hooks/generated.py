"""MkDocs hook: the parts of the site made from the code at build time.

- `<!-- api: slurm_search.PACKAGE -->` becomes one mkdocstrings block per
  name of that package's `__all__` (read from its `__init__.py` without
  importing it), so the reference lists every public name and no other.
- `<!-- cli-help: ssearch -->` / `<!-- cli-help: run_exp -->` becomes the
  command's `--help`, and for ssearch every subcommand's, as the installed
  command prints them now.
- `<!-- session-format -->` becomes the session format this code writes and
  the ones it reads (`FORMAT_VERSION`, `READS` of the session package's
  `_format.py`), and `<!-- checkpoint-format -->` the state package's
  checkpoint head format, so the pages cannot disagree with the code.
- `pictures/*.dot` are drawn to `pictures/*.svg` with graphviz's `dot`, and
  `pictures/demo_ast.svg` is what `run_exp demo --display-ast=graph` draws.

A command that fails, or a missing `dot`, fails the build with one line.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
_API = re.compile(r"<!-- api: (slurm_search\.[a-z_.]+) -->")
_HELP = re.compile(r"<!-- cli-help: (ssearch|run_exp) -->")
_SESSION_FORMAT = ROOT / "packages/session/src/slurm_search/session/_format.py"
_CHECKPOINT_FORMAT = ROOT / "packages/state/src/slurm_search/state/_checkpoint_head.py"


def public_names(module: str) -> list[str]:
    """The names of `module`'s `__all__`, from its source (nothing imported)."""
    parts = module.split(".")
    init = ROOT / "packages" / parts[1] / "src" / Path(*parts) / "__init__.py"
    for node in ast.parse(init.read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in node.targets):
            return [ast.literal_eval(e) for e in node.value.elts]  # type: ignore[attr-defined]
    raise PluginError(f"{init} has no __all__: the reference lists a package's __all__")


def constant(path: Path, name: str):
    """The value of the module-level constant `name` in `path` (a literal, or frozenset({...}))."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets):
            value = node.value
            if isinstance(value, ast.Call) and getattr(value.func, "id", None) == "frozenset":
                return frozenset(ast.literal_eval(value.args[0]))
            return ast.literal_eval(value)
    raise PluginError(f"{path} has no constant {name}")


def session_format() -> str:
    writes = constant(_SESSION_FORMAT, "FORMAT_VERSION")
    reads = sorted(constant(_SESSION_FORMAT, "READS"))
    return (
        f"This slurm-search-session writes session format **{writes}** and reads formats "
        f"**{', '.join(map(str, reads))}** (`FORMAT_VERSION` and `READS` in `session/_format.py`)."
    )


def checkpoint_format() -> str:
    return (
        f"This slurm-search-state writes log checkpoints of head format **{constant(_CHECKPOINT_FORMAT, 'FORMAT')}** "
        "and reads only that one (`FORMAT` in `state/_checkpoint_head.py`); a checkpoint of another format is "
        "ignored, which costs a replay of the log, never an error."
    )


def _api_block(match: re.Match) -> str:
    module = match.group(1)
    names = sorted(public_names(module), key=lambda n: (not n[0].isupper() or n.isupper(), n.lower()))
    return "\n\n".join(f"::: {module}.{name}" for name in names)


def _run(argv: list[str], cwd: str | None = None) -> str:
    env = {**os.environ, "COLUMNS": "100"}
    proc = subprocess.run(argv, capture_output=True, text=True, cwd=cwd, env=env, timeout=300)
    if proc.returncode != 0:
        raise PluginError(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr.strip()[-500:]}")
    return proc.stdout


def subcommands(out: str) -> list[str]:
    """The subcommands listed under "Commands:" in a click group's --help."""
    names, inside = [], False
    for line in out.splitlines():
        if line.startswith("Commands:"):
            inside = True
        elif inside and re.match(r"^  [a-z_]+", line):
            names.append(line.split()[0])
        elif inside and line and not line.startswith(" "):
            inside = False
    return names


def cli_help(command: str) -> str:
    """The command's --help (and each subcommand's) as Markdown."""
    exe = str(BIN / command)
    top = _run([exe, "--help"])
    parts = [f"```text\n$ {command} --help\n{top}```"]
    for sub in subcommands(top):
        parts.append(f"### `{command} {sub}`\n\n```text\n$ {command} {sub} --help\n{_run([exe, sub, '--help'])}```")
    return "\n\n".join(parts)


def on_page_markdown(markdown: str, page, config, files) -> str:  # noqa: ARG001 (MkDocs's signature)
    markdown = _API.sub(_api_block, markdown)
    markdown = markdown.replace("<!-- session-format -->", session_format())
    markdown = markdown.replace("<!-- checkpoint-format -->", checkpoint_format())
    return _HELP.sub(lambda m: cli_help(m.group(1)), markdown)


def _svg(dot_source: str) -> str:
    dot = shutil.which("dot")
    if not dot:
        raise PluginError("graphviz's dot is not installed (apt-get install graphviz, or `make install` as root)")
    proc = subprocess.run([dot, "-Tsvg"], input=dot_source, capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        raise PluginError(f"dot failed: {proc.stderr.strip()}")
    return proc.stdout


def demo_ast_svg() -> str:
    """The demo experiment's AST as `run_exp demo --display-ast=graph` draws it (it stores nothing)."""
    with tempfile.TemporaryDirectory() as tmp:
        env_home = os.environ.get("SLURM_SEARCH_HOME")
        os.environ["SLURM_SEARCH_HOME"] = str(Path(tmp) / "home")
        try:
            _run([str(BIN / "run_exp"), "demo", "--display-ast=graph"], cwd=tmp)
        finally:
            if env_home is None:
                os.environ.pop("SLURM_SEARCH_HOME")
            else:
                os.environ["SLURM_SEARCH_HOME"] = env_home
        return (Path(tmp) / "demo_ast.svg").read_text()


def on_files(files, config):
    for dot_file in sorted((Path(config["docs_dir"]) / "pictures").glob("*.dot")):
        uri = f"pictures/{dot_file.stem}.svg"
        files.append(File.generated(config, uri, content=_svg(dot_file.read_text())))
    files.append(File.generated(config, "pictures/demo_ast.svg", content=demo_ast_svg()))
    return files
