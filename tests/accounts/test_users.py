"""Users (hub.accounts): linked to Slack and unlinked, and passwords stored with the real, slow hash."""

from __future__ import annotations

import pytest

from hub.accounts.services import authenticate, set_password, set_slack_user_id
from hub.core.errors import ValidationFailed
from tests.factories import PASSWORD, make_user


def test_a_user_is_linked_to_slack_and_unlinked(session):
    ann = make_user(session, email="ann@shop.example")
    bob = make_user(session, email="bob@shop.example")
    assert set_slack_user_id(session, "ann@shop.example", "U012AB3CD").slack_user_id == "U012AB3CD"
    with pytest.raises(ValidationFailed, match="already belongs to ann@shop.example"):
        set_slack_user_id(session, bob.email, "U012AB3CD")
    with pytest.raises(ValidationFailed, match="looks like U012AB3CD"):
        set_slack_user_id(session, bob.email, "#general")
    assert set_slack_user_id(session, ann.email, None).slack_user_id is None


def test_passwords_are_stored_with_a_salted_scrypt_hash(session, real_password_hashing):
    # the rest of the suite hashes passwords cheaply (tests/conftest.py): this is the product's own hashing
    ann = make_user(session, email="ann@shop.example")
    bob = make_user(session, email="bob@shop.example")
    assert ann.password_hash.startswith("scrypt:")
    assert PASSWORD not in ann.password_hash
    assert ann.password_hash != bob.password_hash  # the same password, salted apart
    assert authenticate(session, "ann@shop.example", PASSWORD) is ann
    assert authenticate(session, "ann@shop.example", "not the password") is None
    assert authenticate(session, "nobody@shop.example", PASSWORD) is None
    set_password(session, ann.email, "a brand new password")
    assert ann.password_hash.startswith("scrypt:")
    assert authenticate(session, "ann@shop.example", PASSWORD) is None
    assert authenticate(session, "ann@shop.example", "a brand new password") is ann
