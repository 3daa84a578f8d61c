"""The catalogs of the customer languages (Dutch, German): complete, placeholders intact, the .pot current with the
templates, the .mo with the .po, and a catalog for exactly the languages customers are offered."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from babel import Locale
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from hub.core.config import CUSTOMER_LANGUAGES, translations_dir

ROOT = Path(__file__).resolve().parents[2]
POT = translations_dir() / "messages.pot"
TRANSLATED = [lang for lang in CUSTOMER_LANGUAGES if lang != "en"]  # English is the templates' own
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _po(lang: str) -> Path:
    return translations_dir() / lang / "LC_MESSAGES" / "messages.po"


def _mo(lang: str) -> Path:
    return translations_dir() / lang / "LC_MESSAGES" / "messages.mo"


def _read_po(path: Path) -> Catalog:
    with path.open("rb") as f:
        return read_po(f)


def _messages(catalog: Catalog) -> dict[str, str]:
    return {str(m.id): str(m.string) for m in catalog if m.id}


def test_there_is_a_catalog_for_exactly_the_customer_languages():
    assert CUSTOMER_LANGUAGES["en"] == "English"
    assert TRANSLATED == ["nl", "de"]
    catalogs = sorted(p.parent.parent.name for p in translations_dir().glob("*/LC_MESSAGES/messages.po"))
    assert catalogs == sorted(TRANSLATED), "a language customers are offered needs a catalog, and only they have one"
    for lang in TRANSLATED:
        assert _mo(lang).is_file(), f"run: pybabel compile -d hub/translations ({lang})"
        assert str(_read_po(_po(lang)).locale) == lang


def test_every_language_is_named_in_its_own_words():
    for lang, name in CUSTOMER_LANGUAGES.items():
        assert name == Locale.parse(lang).get_display_name(lang).capitalize(), lang


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_message_is_translated(lang):
    pot, po = _read_po(POT), _read_po(_po(lang))
    wanted = {str(m.id) for m in pot if m.id}
    assert wanted, "the .pot is empty"
    missing = sorted(wanted - set(_messages(po)))
    assert missing == [], f"not in the {lang} catalog: {missing}"
    empty = sorted(str(m.id) for m in po if m.id and not m.string)
    assert empty == [], f"untranslated: {empty}"
    fuzzy = sorted(str(m.id) for m in po if m.id and m.fuzzy)
    assert fuzzy == [], f"fuzzy (not used at run time): {fuzzy}"
    stale = sorted(set(_messages(po)) - wanted)
    assert stale == [], f"in the {lang} catalog but no longer in the templates: {stale}"
    same = sorted(msgid for msgid, msgstr in _messages(po).items() if msgstr == msgid and "%(" not in msgid)
    assert same == [], f"left in English in the {lang} catalog: {same}"


@pytest.mark.parametrize("lang", TRANSLATED)
def test_translations_keep_their_placeholders(lang):
    for msgid, msgstr in _messages(_read_po(_po(lang))).items():
        assert sorted(PLACEHOLDER.findall(msgstr)) == sorted(PLACEHOLDER.findall(msgid)), msgid


@pytest.mark.parametrize("lang", TRANSLATED)
def test_the_compiled_catalog_is_up_to_date(lang):
    po = _read_po(_po(lang))
    with _mo(lang).open("rb") as f:
        mo = read_mo(f)
    assert _messages(mo) == _messages(po), "run: pybabel compile -d hub/translations"
    # and what the app loads at run time is what the .po says
    compiled = io.BytesIO()
    write_mo(compiled, po)
    fresh = Translations(io.BytesIO(compiled.getvalue()))
    installed = Translations.load(str(translations_dir()), [lang])
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
