"""README.md's numbers match the committed results files they cite (benchmarks/readme_tables.py)."""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def readme_tables():
    spec = importlib.util.spec_from_file_location("readme_tables", ROOT / "benchmarks" / "readme_tables.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_generated_block_matches_its_results_file(readme_tables):
    text = (ROOT / "README.md").read_text()
    assert readme_tables.BLOCK.findall(text), "README.md has no generated blocks"
    assert readme_tables.render(text) == text, "README.md is stale: run python benchmarks/readme_tables.py"


def test_a_hand_edited_number_is_caught(readme_tables):
    text = (ROOT / "README.md").read_text()
    match = readme_tables.BLOCK.search(text)
    edited = text.replace(match.group("body"), match.group("body").replace("0", "9", 1))
    assert readme_tables.render(edited) != edited
