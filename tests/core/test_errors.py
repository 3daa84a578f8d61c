"""Domain errors: the summary of several field errors reads as sentences, each naming its field once."""

from hub.core.errors import ValidationFailed


def test_one_field_error_is_the_message_itself():
    assert ValidationFailed({"customer_name": "The customer's name is required."}).message == (
        "The customer's name is required."
    )


def test_several_field_errors_read_as_sentences_without_naming_a_field_twice():
    exc = ValidationFailed(
        {
            "customer_name": "The customer's name is required.",
            "items[1].unit_price": "The unit price “abc” is not an amount like 19.95.",
            "note": "at most 2000 characters",
            "items[0].sku": "at most 64 characters",
        }
    )
    assert exc.message == (
        "The customer's name is required. Item 2: The unit price “abc” is not an amount like 19.95. "
        "Note: at most 2000 characters. Item 1 SKU: at most 64 characters."
    )
