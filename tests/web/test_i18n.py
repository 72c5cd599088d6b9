"""The French catalogue: complete, consistent, and its shipped .mo compiled from the .po."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

WEB = Path(__file__).parents[2] / "fleet_monitor" / "web"
TRANSLATIONS = WEB / "translations"
PO = TRANSLATIONS / "fr" / "LC_MESSAGES" / "messages.po"
MO = TRANSLATIONS / "fr" / "LC_MESSAGES" / "messages.mo"
KEYWORDS = {"_": None, "gettext": None, "_l": None, "lazy_gettext": None}


def source_messages() -> set[str]:
    """Every translatable string of the web code and templates (as pybabel extracts them)."""
    found = set()
    method_map = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(WEB), method_map=method_map, keywords=KEYWORDS
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_mo_is_compiled_from_the_current_po() -> None:
    with PO.open("rb") as f:
        po = read_po(f)
    with MO.open("rb") as f:
        mo = read_mo(f)
    expected = {m.id: m.string for m in po if m.id and m.string and not m.fuzzy}
    compiled = {m.id: m.string for m in mo if m.id}
    assert compiled == expected, (
        "messages.mo is out of date: run "
        "pybabel compile -d fleet_monitor/web/translations -l fr (see translations/README.md)"
    )


def test_every_string_of_the_code_is_translated_into_french() -> None:
    with PO.open("rb") as f:
        po = read_po(f)
    translated = {m.id: m for m in po if m.id}
    code = source_messages()
    assert len(code) > 100
    missing = sorted(code - set(translated))
    assert missing == [], "strings missing from messages.po (see translations/README.md)"
    untranslated = sorted(m for m in code if not translated[m].string or translated[m].fuzzy)
    assert untranslated == []
    obsolete = sorted(set(translated) - code)
    assert obsolete == [], "strings no longer in the code: pybabel update --ignore-obsolete"


def test_placeholders_match() -> None:
    with PO.open("rb") as f:
        po = read_po(f)
    problems = [(m.id, [str(e) for e in errors]) for m, errors in po.check()]
    assert problems == []
    for message in po:  # {name} placeholders handed to the map's script
        if message.id and "{" in message.id:
            assert sorted(_braces(message.id)) == sorted(_braces(message.string)), message.id


def _braces(text: str) -> list[str]:
    return re.findall(r"\{\w+\}", text)
