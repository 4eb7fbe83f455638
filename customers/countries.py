"""Country names for the ISO codes customers' accounts store, in the reader's language.

The Databank gives a two-letter ISO 3166 code; people read a name. The list holds the countries
the vendor's customers come from; another code is shown as it is stored.
"""

import unicodedata

from django.utils.translation import gettext_lazy as _

COUNTRY_NAMES = {
    "AD": _("Andorra"),
    "AE": _("United Arab Emirates"),
    "AL": _("Albania"),
    "AM": _("Armenia"),
    "AR": _("Argentina"),
    "AT": _("Austria"),
    "AU": _("Australia"),
    "AZ": _("Azerbaijan"),
    "BA": _("Bosnia and Herzegovina"),
    "BE": _("Belgium"),
    "BG": _("Bulgaria"),
    "BH": _("Bahrain"),
    "BR": _("Brazil"),
    "BY": _("Belarus"),
    "CA": _("Canada"),
    "CH": _("Switzerland"),
    "CL": _("Chile"),
    "CN": _("China"),
    "CO": _("Colombia"),
    "CY": _("Cyprus"),
    "CZ": _("Czechia"),
    "DE": _("Germany"),
    "DK": _("Denmark"),
    "DZ": _("Algeria"),
    "EC": _("Ecuador"),
    "EE": _("Estonia"),
    "EG": _("Egypt"),
    "ES": _("Spain"),
    "FI": _("Finland"),
    "FR": _("France"),
    "GB": _("United Kingdom"),
    "GE": _("Georgia"),
    "GR": _("Greece"),
    "HK": _("Hong Kong"),
    "HR": _("Croatia"),
    "HU": _("Hungary"),
    "ID": _("Indonesia"),
    "IE": _("Ireland"),
    "IL": _("Israel"),
    "IN": _("India"),
    "IQ": _("Iraq"),
    "IR": _("Iran"),
    "IS": _("Iceland"),
    "IT": _("Italy"),
    "JO": _("Jordan"),
    "JP": _("Japan"),
    "KR": _("South Korea"),
    "KW": _("Kuwait"),
    "KZ": _("Kazakhstan"),
    "LB": _("Lebanon"),
    "LI": _("Liechtenstein"),
    "LT": _("Lithuania"),
    "LU": _("Luxembourg"),
    "LV": _("Latvia"),
    "LY": _("Libya"),
    "MA": _("Morocco"),
    "MC": _("Monaco"),
    "MD": _("Moldova"),
    "ME": _("Montenegro"),
    "MK": _("North Macedonia"),
    "MT": _("Malta"),
    "MX": _("Mexico"),
    "MY": _("Malaysia"),
    "NG": _("Nigeria"),
    "NL": _("Netherlands"),
    "NO": _("Norway"),
    "NZ": _("New Zealand"),
    "OM": _("Oman"),
    "PE": _("Peru"),
    "PH": _("Philippines"),
    "PK": _("Pakistan"),
    "PL": _("Poland"),
    "PT": _("Portugal"),
    "QA": _("Qatar"),
    "RO": _("Romania"),
    "RS": _("Serbia"),
    "RU": _("Russia"),
    "SA": _("Saudi Arabia"),
    "SE": _("Sweden"),
    "SG": _("Singapore"),
    "SI": _("Slovenia"),
    "SK": _("Slovakia"),
    "SM": _("San Marino"),
    "TH": _("Thailand"),
    "TN": _("Tunisia"),
    "TR": _("Türkiye"),
    "TW": _("Taiwan"),
    "UA": _("Ukraine"),
    "US": _("United States"),
    "UY": _("Uruguay"),
    "VA": _("Vatican City"),
    "VE": _("Venezuela"),
    "VN": _("Vietnam"),
    "ZA": _("South Africa"),
}


def country_name(code: str) -> str:
    """Return the country's name in the active language, or the code itself when unknown."""
    code = (code or "").strip().upper()
    name = COUNTRY_NAMES.get(code)
    return str(name) if name is not None else code


def _sort_key(text: str) -> str:
    # "Égypte" sorts with the E's, not after "Z".
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().casefold()


def country_choices(*, keep: str = "") -> list[tuple[str, str]]:
    """Return (code, name) pairs sorted by name in the active language, `keep` included."""
    choices = [(code, str(name)) for code, name in COUNTRY_NAMES.items()]
    keep = (keep or "").strip().upper()
    if keep and keep not in COUNTRY_NAMES:
        choices.append((keep, keep))
    return sorted(choices, key=lambda choice: _sort_key(choice[1]))
