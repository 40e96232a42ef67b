"""The rule book: what the law says about reminder fees, late interest and
compensation, per legal profile. Plain Python, no ORM: models ask, it answers.

Adding a country is adding one ``LegalProfile`` to ``PROFILES``.
"""

import calendar
from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True)
class LegalProfile:
    code: str
    label: str
    #: highest reminder fee per reminder, in ``currency`` (None: no legal cap)
    max_reminder_fee: float | None = None
    #: how many fee-bearing reminders one claim may carry (None: no cap)
    max_fee_reminders: int | None = None
    #: fewest days between two fee-bearing reminders (None: no minimum)
    min_days_between_fees: int | None = None
    #: percentage points added to the reference rate for late interest
    interest_margin: float | None = None
    #: fixed compensation per overdue invoice for business customers
    compensation_amount: float = 0.0
    #: fewest days a collection warning must give before hand-over
    min_collection_warning_days: int | None = None
    #: currency of the amounts above
    currency: str | None = None
    #: the rule each limit comes from, to name it in an error
    fee_rule: str = ""
    interest_rule: str = ""
    compensation_rule: str = ""
    warning_rule: str = ""


PROFILES = {
    "dk": LegalProfile(
        code="dk",
        label="Denmark (Renteloven / Inkassoloven)",
        max_reminder_fee=100.0,
        max_fee_reminders=3,
        min_days_between_fees=10,
        interest_margin=8.0,
        compensation_amount=310.0,
        min_collection_warning_days=10,
        currency="DKK",
        fee_rule="Renteloven §9b",
        interest_rule="Renteloven §5",
        compensation_rule="Renteloven §9a",
        warning_rule="Inkassoloven §10",
    ),
    "eu": LegalProfile(
        code="eu",
        label="EU late payment directive (2011/7/EU)",
        interest_margin=8.0,
        compensation_amount=40.0,
        currency="EUR",
        interest_rule="Directive 2011/7/EU art. 2(6)",
        compensation_rule="Directive 2011/7/EU art. 6",
    ),
    "none": LegalProfile(code="none", label="No statutory limits"),
}

#: day-count conventions: (name, days in the year or None for the actual year)
DAY_COUNTS = {"act/365": 365, "act/360": 360, "act/act": None}


EU_COUNTRY_CODES = {
    "AT", "BE", "BG", "CY", "CZ", "DE", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE",
    "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
}  # fmt: skip


def profile_for_country(country_code):
    """The profile a company in ``country_code`` starts with."""
    if country_code == "DK":
        return "dk"
    return "eu" if country_code in EU_COUNTRY_CODES else "none"


def get_profile(code):
    """Return the legal profile for ``code``; unknown codes have no limits."""
    return PROFILES.get(code or "none", PROFILES["none"])


def _year_days(day, day_count):
    fixed = DAY_COUNTS[day_count]
    if fixed:
        return fixed
    return 366 if calendar.isleap(day.year) else 365


def late_interest(amount, rates, date_from, date_to, margin, day_count="act/365"):
    """Simple late interest on ``amount`` for each day after ``date_from`` up to
    and including ``date_to``.

    ``rates`` is a list of ``(valid_from, reference_rate_pct)``; each day bears
    the reference rate in force on that day plus ``margin`` percentage points
    (Renteloven §5: the rate of 1 January applies to the first half-year, that
    of 1 July to the second). Returns the interest rounded to 2 decimals.
    """
    if amount <= 0 or date_to <= date_from:
        return 0.0
    return interest_on(amount, interest_periods(rates, date_from, date_to, margin, day_count))


def interest_periods(rates, date_from, date_to, margin, day_count="act/365"):
    """The periods after ``date_from`` up to and including ``date_to`` that bear
    one rate each, as ``(annual rate, days, days of the year)``: the same for
    every claim whose interest runs over those dates (see ``late_interest``)."""
    rates = sorted(rates)
    first_day = date_from + timedelta(days=1)
    if not rates or rates[0][0] > first_day:
        raise ValueError(f"no reference rate in force on {first_day.isoformat()}")
    cuts = {date_to}
    cuts.update(start - timedelta(days=1) for start, _rate in rates)
    cuts.update(date(year, 12, 31) for year in range(date_from.year, date_to.year))
    periods = []
    previous = date_from
    for cut in sorted(c for c in cuts if date_from < c <= date_to):
        accrual_day = previous + timedelta(days=1)
        reference = [rate for start, rate in rates if start <= accrual_day][-1]
        annual = (reference + margin) / 100.0
        periods.append((annual, (cut - previous).days, _year_days(accrual_day, day_count)))
        previous = cut
    return tuple(periods)


def interest_on(amount, periods):
    """The interest on ``amount`` over ``periods`` (``interest_periods``), rounded to 2 decimals."""
    total = 0.0
    for annual, days, year_days in periods:
        total += amount * annual * days / year_days
    return round(total, 2)
