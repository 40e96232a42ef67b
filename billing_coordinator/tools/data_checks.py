"""Customer data rules: VAT/CVR checksums and e-mail shape (plain Python, no ORM)."""

import re

from stdnum.dk import cvr
from stdnum.eu import vat as eu_vat

EMAIL_RE = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[A-Za-z]{2,}$")
EU_PREFIXES = {code.upper() for code in eu_vat.MEMBER_STATES} | {"EL"}


def clean_vat(vat):
    """The VAT number without spaces, dots or dashes, upper case."""
    return re.sub(r"[^A-Za-z0-9]", "", vat or "").upper()


def vat_is_valid(vat, country_code=None):
    """Whether ``vat`` is a valid VAT/CVR number.

    Danish numbers (``DK12345674``, or a bare CVR, also written ``CVR 12345674``,
    for a Danish customer) are checked with the CVR modulus 11 checksum, other EU
    numbers with the member state's checksum. A customer in the EU needs an EU
    number: "n/a" is none. Numbers from outside the EU are only required to be
    present, as no checksum is known here.
    """
    number = clean_vat(vat)
    if not number:
        return False
    country = (country_code or "").upper()
    if country == "DK" and number.startswith("CVR"):
        number = number[3:]
    prefix = number[:2]
    if prefix.isalpha():
        if prefix == "DK":
            return cvr.is_valid(number[2:])
        if prefix in EU_PREFIXES:
            return eu_vat.is_valid(number)
        return country not in EU_PREFIXES
    if country == "DK":
        return cvr.is_valid(number)
    if country in EU_PREFIXES:
        return eu_vat.is_valid(country + number)
    return True


def email_is_valid(email):
    """Whether ``email`` is one well-formed address."""
    return bool(EMAIL_RE.match((email or "").strip()))
