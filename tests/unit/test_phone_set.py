"""The compact phone set behaves as a set of E.164 strings."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from contacts_import.pipeline.phone_set import PhoneSet

e164 = st.integers(min_value=10_000_000, max_value=999_999_999_999_999).map(lambda n: f"+{n}")


@given(phones=st.lists(e164, max_size=300), probes=st.lists(e164, max_size=50))
def test_it_is_a_set_of_phones(phones, probes):
    compact, reference = PhoneSet(capacity=2), set()
    for phone in phones:
        assert compact.add(phone) == (phone not in reference)
        reference.add(phone)
    assert len(compact) == len(reference)
    assert set(compact) == reference
    for phone in probes + phones:
        assert (phone in compact) == (phone in reference)


def test_what_is_not_a_phone_is_not_in_it():
    phones = PhoneSet()
    phones.add("+12127365000")
    assert "+12127365000" in phones
    assert "12127365000" not in phones and "+" not in phones and None not in phones
