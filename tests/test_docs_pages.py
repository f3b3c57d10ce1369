"""The documentation site's code runs: every page's blocks, in order, in a fresh store.

On every page under docs/ (the site of `make docs`), fenced blocks run as a
reader would paste them, top to bottom, in one folder per page:

- ```` ```sh ````: each block runs in bash (`set -e`, `pipefail`), with the
  virtualenv's `ssearch` and `run_exp` first on the PATH;
- ```` ```python title="NAME.py" ````: the file is written into the folder
  (a module the commands after it use);
- ```` ```python ```` without a title: the block runs as a script there;
- a block whose title starts with "not run" is shown only, and its title
  says why (`test_the_blocks_not_run_say_why`);
- other languages (text, toml, bash for ~/.bashrc lines) are output or
  configuration, not run.

`exp:NAME` stands for the run the page made last (the newest in
`run_exp --list-runs`), as the pages say. Pages that need Slurm are listed in
`SLURM_PAGES` and run on the test cluster (`slurm_cluster`); a page whose
code no longer works fails here, with the block and its output.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
BIN = Path(sys.executable).parent
SLURM_PAGES = {"tutorials/slurm.md"}
_FENCE = re.compile(r"^```(\w*)(.*)$")


@dataclass
class Block:
    lang: str
    title: str
    code: str
    line: int


def page_blocks(page: Path) -> list[Block]:
    """The fenced blocks of a page, in order, with their language and title."""
    blocks, lines, i = [], page.read_text().split("\n"), 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if match and match.group(1):
            title = re.search(r'title="([^"]*)"', match.group(2))
            start, body = i + 1, []
            i += 1
            while not lines[i].startswith("```"):
                body.append(lines[i])
                i += 1
            blocks.append(Block(match.group(1), title.group(1) if title else "", "\n".join(body) + "\n", start))
        i += 1
    return blocks


def _runnable(block: Block) -> bool:
    return block.lang in ("sh", "python") and not block.title.startswith("not run")


def pages_with_code() -> list[str]:
    return sorted(
        str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md") if any(_runnable(b) for b in page_blocks(p))
    )


def _newest_run(folder: Path, env: dict) -> str:
    out = subprocess.run(
        [str(BIN / "run_exp"), "--list-runs", "--json"], capture_output=True, text=True, cwd=folder, env=env
    )
    runs = json.loads(out.stdout or "[]")
    assert runs, f"the page names exp:NAME before any run exists: {out.stderr}"
    return runs[0]["name"]


def run_page(page: Path, folder: Path) -> None:
    """Run the page's blocks in order in `folder`; fail with the first block that fails."""
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    for n, block in enumerate(page_blocks(page)):
        if not _runnable(block):
            continue
        code = block.code
        if "exp:NAME" in code:
            code = code.replace("exp:NAME", _newest_run(folder, env))
        if block.lang == "python" and block.title:
            (folder / block.title).write_text(code)
            continue
        if block.lang == "python":
            script = folder / f"_block_{n}.py"
            script.write_text(code)
            argv = [sys.executable, script.name]
        else:
            argv = ["bash", "-e", "-o", "pipefail", "-c", code]
        proc = subprocess.run(argv, capture_output=True, text=True, cwd=folder, env=env, timeout=900)
        assert proc.returncode == 0, (
            f"{page}, the block at line {block.line} exited {proc.returncode}:\n{code}\n"
            f"--- stdout\n{proc.stdout[-2000:]}\n--- stderr\n{proc.stderr[-3000:]}"
        )


def test_the_pages_have_code_to_run():
    pages = pages_with_code()
    for tutorial in ("first-search", "first-experiment", "slurm", "rl-study"):
        assert f"tutorials/{tutorial}.md" in pages


def test_the_blocks_not_run_say_why():
    for page in DOCS.rglob("*.md"):
        for block in page_blocks(page):
            if block.title.startswith("not run"):
                assert len(block.title) > len("not run by the tests: ") + 10, (page, block.line)


def test_a_page_that_no_longer_works_fails(tmp_path):
    page = tmp_path / "broken.md"
    page.write_text("```python title=\"mod.py\"\nX = 1\n```\n\n```sh\nssearch show no_such_session\n```\n")
    with pytest.raises(AssertionError, match="no_such_session"):
        run_page(page, tmp_path)
    assert (tmp_path / "mod.py").read_text() == "X = 1\n"


@pytest.mark.slow
@pytest.mark.parametrize("page", [p for p in pages_with_code() if p not in SLURM_PAGES])
def test_a_docs_page_runs(page, tmp_path):
    run_page(DOCS / page, tmp_path)


@pytest.mark.slow
@pytest.mark.slurm
@pytest.mark.parametrize("page", sorted(SLURM_PAGES))
def test_a_docs_page_runs_on_slurm(page, tmp_path, slurm_cluster):
    run_page(DOCS / page, tmp_path)
