"""Phone numbers for lookup: normalize to E.164, and the renderings shops store them in (pure).

commercetools compares address phone fields as exact strings, and shops store numbers as typed:
``+49 30 1234567``, ``0151-2345678``, ``(415) 555-0134``. A lookup therefore asks commercetools for
the common renderings of one E.164 number, then re-normalizes every hit: a result is a match only
if it is the same number, so the renderings only widen recall, never precision.
"""

from __future__ import annotations

import phonenumbers
from phonenumbers import PhoneNumberFormat
from phonenumbers.phonemetadata import PhoneMetadata

__all__ = ["MAX_RENDERINGS", "normalize_phone", "phone_renderings"]

MAX_RENDERINGS = 64
_SEPARATORS = (" ", "-", "/")


def normalize_phone(raw: str, region: str | None) -> str | None:
    """E.164 for a number as typed, or ``None`` if it cannot be a phone number.

    ``region`` (ISO 3166 alpha-2) resolves national numbers such as ``030 1234567``.
    """
    try:
        number = phonenumbers.parse(raw, region.upper() if region else None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def phone_renderings(e164: str) -> tuple[str, ...]:
    """Spellings of one number that shops commonly store, the E.164 form first, at most 64."""
    number = phonenumbers.parse(e164, None)
    code = number.country_code or 0
    nsn = phonenumbers.national_significant_number(number)
    region = phonenumbers.region_code_for_country_code(code)
    metadata = PhoneMetadata.metadata_for_region(region) if region else None
    trunk = (metadata.national_prefix or "") if metadata else ""
    forms: dict[str, None] = {e164: None}
    for fmt in (PhoneNumberFormat.INTERNATIONAL, PhoneNumberFormat.NATIONAL):
        text = phonenumbers.format_number(number, fmt)
        forms[text] = None
        forms[text.replace(" ", "-")] = None
        forms[text.replace("-", " ")] = None
    forms |= dict.fromkeys((f"00{code}{nsn}", f"{code}{nsn}", f"{trunk}{nsn}", nsn))
    # Area/prefix split at every plausible position: "0151-2345678", "030 1234567", "+49 30/1234567".
    for cut in range(2, min(6, len(nsn) - 2)):
        head, tail = nsn[:cut], nsn[cut:]
        for sep in _SEPARATORS:
            forms[f"{trunk}{head}{sep}{tail}"] = None
            forms[f"+{code} {head}{sep}{tail}"] = None
            if trunk:
                forms[f"+{code} ({trunk}){head}{sep}{tail}"] = None
    return tuple(forms)[:MAX_RENDERINGS]
