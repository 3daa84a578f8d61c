"""The Dutch catalog: complete, placeholders intact, the .pot current with the templates, the .mo with the .po."""

from __future__ import annotations

import io
import re
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from hub.core.config import translations_dir

ROOT = Path(__file__).resolve().parents[2]
POT = translations_dir() / "messages.pot"
PO = translations_dir() / "nl" / "LC_MESSAGES" / "messages.po"
MO = translations_dir() / "nl" / "LC_MESSAGES" / "messages.mo"
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _read_po(path: Path) -> Catalog:
    with path.open("rb") as f:
        return read_po(f)


def _messages(catalog: Catalog) -> dict[str, str]:
    return {str(m.id): str(m.string) for m in catalog if m.id}


def test_every_message_has_a_dutch_translation():
    pot, po = _read_po(POT), _read_po(PO)
    wanted = {str(m.id) for m in pot if m.id}
    assert wanted, "the .pot is empty"
    missing = sorted(wanted - set(_messages(po)))
    assert missing == [], f"not in the Dutch catalog: {missing}"
    empty = sorted(str(m.id) for m in po if m.id and not m.string)
    assert empty == [], f"untranslated: {empty}"
    fuzzy = sorted(str(m.id) for m in po if m.id and m.fuzzy)
    assert fuzzy == [], f"fuzzy (not used at run time): {fuzzy}"
    stale = sorted(set(_messages(po)) - wanted)
    assert stale == [], f"in the Dutch catalog but no longer in the templates: {stale}"


def test_translations_keep_their_placeholders():
    for msgid, msgstr in _messages(_read_po(PO)).items():
        assert sorted(PLACEHOLDER.findall(msgstr)) == sorted(PLACEHOLDER.findall(msgid)), msgid


def test_the_compiled_catalog_is_up_to_date():
    po = _read_po(PO)
    with MO.open("rb") as f:
        mo = read_mo(f)
    assert _messages(mo) == _messages(po), "run: pybabel compile -d hub/translations"
    # and what the app loads at run time is what the .po says
    compiled = io.BytesIO()
    write_mo(compiled, po)
    fresh = Translations(io.BytesIO(compiled.getvalue()))
    installed = Translations.load(str(translations_dir()), ["nl"])
    for msgid in _messages(po):
        assert installed.gettext(msgid) == fresh.gettext(msgid), msgid


def test_the_template_catalog_lists_every_translatable_string():
    mapping = re.findall(r"^\[(\w+):\s*(.+?)\]\s*$", (ROOT / "babel.cfg").read_text("utf-8"), re.M)
    assert mapping, "babel.cfg maps no files"
    method_map = [(pattern, method) for method, pattern in mapping]
    extracted = {
        msgid if isinstance(msgid, str) else msgid[0]
        for _file, _line, msgid, *_rest in extract_from_dir(str(ROOT), method_map)
    }
    in_pot = set(_messages(_read_po(POT)))
    assert sorted(extracted - in_pot) == [], "run: pybabel extract -F babel.cfg -o hub/translations/messages.pot ."
    assert sorted(in_pot - extracted) == []
