"""Rejection reasons the customer can read in their language, and where customers send their parcels: the config."""

from __future__ import annotations

import pytest

from hub.core.config import CUSTOMER_LANGUAGES
from hub.workflow import ConfigError, load_workflow, parse_workflow
from tests.factories import default_workflow_toml

FIRST = "rejection_reasons[0] (outside_window)"


def errors_of(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_workflow(text, source="broken.toml")
    return info.value.errors


def changed(old: str, new: str) -> str:
    text = default_workflow_toml()
    assert old in text, old
    return text.replace(old, new, 1)


def test_the_default_offers_reasons_in_every_customer_language_and_rejecting_needs_one():
    wf = load_workflow()
    assert wf.stages["rejected"].requires_rejection_reason
    assert not wf.stages["rejected"].requires_note  # the note is an extra, not the reason
    assert list(wf.rejection_reasons) == [
        "outside_window",
        "used_or_damaged",
        "final_sale",
        "no_proof_of_purchase",
        "missing_parts",
        "other",
    ]
    for why in wf.rejection_reasons.values():
        assert set(why.texts) == set(CUSTOMER_LANGUAGES), why.key
        assert len(set(why.texts.values())) == len(CUSTOMER_LANGUAGES), f"{why.key}: a text left untranslated"
    assert [k for k, why in wf.rejection_reasons.items() if why.note_required] == ["other"]
    assert wf.rejection_reasons["final_sale"].text("de").startswith("Die Artikel wurden im Ausverkauf gekauft")


@pytest.mark.parametrize(
    ("old", "new", "error"),
    [
        (
            'text.nl = "Uw retourverzoek',
            'text_nl = "Uw retourverzoek',
            f"{FIRST}.text.nl: missing: customers who read Nederlands get this reason, so it needs a text in nl "
            "(every customer language needs one: en, nl, de)",
        ),
        (
            'text.de = "Ihre Rücksendeanfrage',
            'text.fr = "Votre demande"\ntext.de = "Ihre Rücksendeanfrage',
            f"{FIRST}.text.fr: 'fr' is not a customer language; customer languages are: en, nl, de",
        ),
        ('text.en = "The return request', 'text.en = "  "\nx = "', f"{FIRST}.text.en: must not be empty"),
        ('key = "used_or_damaged"', 'key = "outside_window"', "duplicate rejection reason key 'outside_window'"),
        ('key = "final_sale"', 'key = "Final sale"', "a reason key uses lowercase letters"),
        ('label = "Final-sale item"', "label = 3", ".label: expected a string, got a number (3)"),
        ("note_required = true\n", 'note_required = "yes"\n', ".note_required: expected true or false"),
        ("requires_rejection_reason = true\n", "requires_rejection_reason = true\nx = 1\n", "(rejected).x: unknown"),
    ],
    ids=["language missing", "unknown language", "empty text", "duplicate", "bad key", "label", "flag", "stage key"],
)
def test_a_bad_rejection_reason_is_named_with_its_key_and_language(old, new, error):
    errors = errors_of(changed(old, new))
    assert any(error in e for e in errors), errors


def test_a_stage_that_requires_a_reason_needs_reasons_to_choose_from():
    text = default_workflow_toml()
    text = text[: text.index("# Why a return was not accepted")]  # no [[rejection_reasons]] at all
    assert errors_of(text) == [
        "rejection_reasons: stage 'rejected' requires a rejection reason, so at least one [[rejection_reasons]] "
        "is needed"
    ]


def test_only_a_closed_stage_can_require_a_rejection_reason():
    text = changed('key = "approved"\n', 'key = "approved"\nrequires_rejection_reason = true\n')
    assert errors_of(text) == ["stages[1] (approved).requires_rejection_reason: only a closed stage can require this"]


def test_the_return_address_is_a_few_lines_and_without_it_the_config_warns():
    assert load_workflow().shop.return_address == ()
    assert load_workflow().warnings == [
        "shop.return_address is not set: the approval e-mail and the status page tell customers that the address "
        "to send their parcel to follows separately, so someone must e-mail it to each of them"
    ]
    lines = '["Shop — Returns", "Industrieweg 12", "1234 AB Amsterdam", "Netherlands"]'
    wf = parse_workflow(changed("[shop]\n", f"[shop]\nreturn_address = {lines}\n"))
    assert wf.shop.return_address == ("Shop — Returns", "Industrieweg 12", "1234 AB Amsterdam", "Netherlands")
    assert wf.warnings == []


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ('"Industrieweg 12, Amsterdam"', "shop.return_address: expected an array, got a string"),
        ('["Amsterdam"]', "shop.return_address: expected the address in 3 to 8 lines"),
        ('["Shop", "", "1234 AB Amsterdam"]', "shop.return_address[1]: an address line must not be empty"),
        ('["Shop", 12, "1234 AB Amsterdam"]', "shop.return_address[1]: expected a string, got a number (12)"),
    ],
)
def test_a_bad_return_address_is_named(value, error):
    errors = errors_of(changed("[shop]\n", f"[shop]\nreturn_address = {value}\n"))
    assert any(e.startswith(error) for e in errors), errors


def test_an_unknown_shop_key_is_named():
    assert errors_of(changed("[shop]\n", "[shop]\nreturn_labels = true\n")) == [
        "shop.return_labels: unknown key; allowed keys are: return_address"
    ]
