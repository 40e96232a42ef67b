from odoo import api, fields, models


class BillingInterestRate(models.Model):
    _name = "billing.interest.rate"
    _description = "Reference Interest Rate"
    _order = "country_id, date_from desc"
    _rec_names_search = ["country_id"]

    country_id = fields.Many2one(
        "res.country",
        required=True,
        default=lambda self: self.env.ref("base.dk"),
    )
    date_from = fields.Date(
        string="Valid From",
        required=True,
        help="First day the rate is in force; Danish reference rates change on 1 January and 1 July.",
    )
    reference_rate = fields.Float(
        string="Reference Rate (%)",
        digits=(5, 3),
        required=True,
        help="The central bank's reference rate in percent per year.",
    )
    note = fields.Char(string="Source")

    _country_date_unique = models.Constraint(
        "UNIQUE(country_id, date_from)",
        "A country has one reference rate per start date.",
    )
    _rate_range = models.Constraint(
        "CHECK(reference_rate > -100 AND reference_rate < 100)",
        "The reference rate must be a percentage between -100 and 100.",
    )

    @api.depends("country_id", "date_from", "reference_rate")
    def _compute_display_name(self):
        for rate in self:
            rate.display_name = (
                f"{rate.country_id.code or ''} {rate.date_from or ''}: {rate.reference_rate:.3f}%"
            )

    def _rates_for_country(self, country):
        """All ``(date_from, reference_rate)`` pairs of a country, oldest first."""
        rows = self.search_fetch([("country_id", "=", country.id)], ["date_from", "reference_rate"])
        return sorted((row.date_from, row.reference_rate) for row in rows)
