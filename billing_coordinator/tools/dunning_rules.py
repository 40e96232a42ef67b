"""The rule book for dunning: which reminder fees, compensation and collection
warnings a legal profile allows. Plain Python, no ORM: models ask, it answers.

Every check returns ``None`` when the rule holds, or a ``Violation`` naming the
rule, so that a model can turn it into a translated error message.
"""

from dataclasses import dataclass
from datetime import date
from itertools import pairwise


@dataclass(frozen=True)
class Violation:
    #: what is broken: "fee_amount", "fee_count", "fee_interval", "warning_days"
    kind: str
    #: the rule broken, e.g. "Renteloven §9b"
    rule: str
    #: the legal limit
    limit: float


@dataclass(frozen=True)
class PlannedLevel:
    """A level of a dunning policy as the rule book sees it."""

    #: days after the due date (trigger "due") or after the previous level
    trigger: str
    days: int
    fee: float = 0.0
    is_collection_warning: bool = False
    warning_days: int = 0


def check_fee_amount(profile, fee):
    """A single reminder fee above the profile's cap is refused."""
    if profile.max_reminder_fee is not None and fee > profile.max_reminder_fee:
        return Violation("fee_amount", profile.fee_rule, profile.max_reminder_fee)
    return None


def check_warning_days(profile, days):
    """A collection warning must give the customer the legal minimum of days."""
    if profile.min_collection_warning_days is not None and days < profile.min_collection_warning_days:
        return Violation("warning_days", profile.warning_rule, profile.min_collection_warning_days)
    return None


def level_offsets(levels):
    """Earliest day after the due date on which each level can be reached."""
    offsets = []
    for level in levels:
        previous = offsets[-1] if offsets else 0
        if level.trigger == "previous":
            offsets.append(previous + level.days)
        else:
            offsets.append(max(level.days, previous))
    return offsets


def check_policy_levels(profile, levels):
    """Check a whole ladder of levels (in order): each fee, how many levels bear
    a fee, the days between two fee-bearing levels and the warning deadlines."""
    for level in levels:
        violation = check_fee_amount(profile, level.fee)
        if violation:
            return violation
        if level.is_collection_warning:
            violation = check_warning_days(profile, level.warning_days)
            if violation:
                return violation
    fee_offsets = [
        offset for level, offset in zip(levels, level_offsets(levels), strict=True) if level.fee > 0
    ]
    if profile.max_fee_reminders is not None and len(fee_offsets) > profile.max_fee_reminders:
        return Violation("fee_count", profile.fee_rule, profile.max_fee_reminders)
    if profile.min_days_between_fees is not None:
        for earlier, later in pairwise(fee_offsets):
            if later - earlier < profile.min_days_between_fees:
                return Violation("fee_interval", profile.fee_rule, profile.min_days_between_fees)
    return None


def fee_allowed(profile, fee_dates, on_date: date, disputed=False):
    """Whether one more fee may be charged on a claim on ``on_date``, given the
    dates of the fees already charged on it. Returns ``(allowed, violation)``."""
    if disputed:
        return False, Violation("fee_disputed", profile.fee_rule, 0)
    if profile.max_fee_reminders is not None and len(fee_dates) >= profile.max_fee_reminders:
        return False, Violation("fee_count", profile.fee_rule, profile.max_fee_reminders)
    too_soon = (
        fee_dates
        and profile.min_days_between_fees is not None
        and (on_date - max(fee_dates)).days < profile.min_days_between_fees
    )
    if too_soon:
        return False, Violation("fee_interval", profile.fee_rule, profile.min_days_between_fees)
    return True, None


def compensation_for(profile, invoice_currency):
    """The compensation rule applies in the profile's currency when the invoice
    is in it; otherwise the EU directive's EUR 40 equivalent applies."""
    if not profile.compensation_amount:
        return None
    if profile.currency == invoice_currency:
        return profile.compensation_amount, profile.currency
    return 40.0, "EUR"
