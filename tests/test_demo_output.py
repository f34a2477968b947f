"""The demo writes what it prints to demo-output/demo.txt, with every section the README excerpt shows.

Rankings are not compared (they move with every ranking change); the section titles are.
The demo runs for real (spaCy, MiniLM, GNN) on a few users to stay cheap.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from rich.console import Console

from ikg.demo import run_demo

pytestmark = [pytest.mark.models, pytest.mark.slow]

README = Path(__file__).resolve().parent.parent / "README.md"
SECTIONS = (
    "top picks for demo-u001",
    "why '",
    "demo-cold has no music history: interests carried into music",
    "music for demo-cold",
    "interest drift of demo-u003",
)


def readme_excerpt() -> str:
    """The fenced block after "excerpt of its output" in the README."""
    text = README.read_text()
    match = re.search(r"excerpt of its output.*?```\n(.*?)```", text, re.S)
    assert match, "README has no demo excerpt block"
    return match.group(1)


def test_the_readme_excerpt_shows_the_sections_and_points_to_the_generated_file():
    excerpt = readme_excerpt()
    for title in SECTIONS:
        assert title in excerpt, title
    assert "demo-output/demo.txt" in README.read_text()


def test_the_demo_writes_its_printed_output_with_every_section(tmp_path):
    console = Console(file=(tmp_path / "terminal.txt").open("w"), width=120)
    run_demo(tmp_path / "data", tmp_path / "out", n_users=12, console=console)
    console.file.close()
    printed = (tmp_path / "out" / "demo.txt").read_text()
    for title in SECTIONS:
        assert title in printed, title
    assert printed.strip() == (tmp_path / "terminal.txt").read_text().strip()
    assert (tmp_path / "out" / "migration.png").stat().st_size > 0
