"""The README stays true: what it shows that the code can generate, it matches."""

from __future__ import annotations

from pathlib import Path

from cloud.cli import settings_reference

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_settings_table_is_the_generated_one() -> None:
    text = README.read_text()
    begin, end = "<!-- settings:begin -->\n", "\n<!-- settings:end -->"
    shown = text[text.index(begin) + len(begin) : text.index(end)]
    assert shown == settings_reference().rstrip(), "run `carewatch-cloud settings` into README"


def test_readme_names_the_two_commands() -> None:
    text = README.read_text()
    assert "make demo" in text and "make test" in text
