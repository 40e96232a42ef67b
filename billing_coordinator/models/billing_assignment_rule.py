from collections import defaultdict
from itertools import cycle, islice

from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import SQL


class BillingAssignmentRule(models.Model):
    """Who becomes the coordinator of a new customer: the first matching rule wins."""

    _name = "billing.assignment.rule"
    _description = "Coordinator Assignment Rule"
    _order = "sequence, id"

    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    rule_type = fields.Selection(
        [
            ("country", "By Country"),
            ("tag", "By Customer Tag"),
            ("round_robin", "Round-Robin"),
        ],
        string="Assign",
        required=True,
        default="country",
    )
    country_ids = fields.Many2many("res.country", string="Countries")
    category_ids = fields.Many2many("res.partner.category", string="Customer Tags")
    user_id = fields.Many2one(
        "res.users",
        string="Coordinator",
        domain="[('share', '=', False), ('company_ids', 'in', company_id)]",
    )
    user_ids = fields.Many2many(
        "res.users",
        string="Coordinators",
        domain="[('share', '=', False), ('company_ids', 'in', company_id)]",
        help="Round-robin among these coordinators; all active coordinators of the company when empty.",
    )
    last_user_id = fields.Many2one("res.users", string="Last Assigned", readonly=True)

    @api.constrains("rule_type", "user_id", "country_ids", "category_ids")
    def _check_rule_complete(self):
        for rule in self:
            if rule.rule_type == "round_robin":
                continue
            if not rule.user_id:
                raise ValidationError(self.env._("The rule %(rule)s needs a coordinator.", rule=rule.name))
            if rule.rule_type == "country" and not rule.country_ids:
                raise ValidationError(self.env._("The rule %(rule)s needs countries.", rule=rule.name))
            if rule.rule_type == "tag" and not rule.category_ids:
                raise ValidationError(self.env._("The rule %(rule)s needs customer tags.", rule=rule.name))

    @api.model
    def _assign_coordinators(self, partners):
        """Give each of ``partners`` (commercial customers without a coordinator)
        the coordinator of the first matching rule of its company (of the current
        company for a customer shared by all companies)."""
        partners_by_company = partners.grouped(lambda partner: partner.company_id or self.env.company)
        rules = self.sudo().search([("company_id", "in", [company.id for company in partners_by_company])])
        rules_by_company = rules.grouped("company_id")
        for company, company_partners in partners_by_company.items():
            if company in rules_by_company:
                rules_by_company[company]._assign_by_rules(company_partners, company)

    def _assign_by_rules(self, partners, company):
        """Give each of ``partners`` of ``company`` the coordinator of the first of these rules to match."""
        partners_by_user = defaultdict(list)
        turns = {}  # each round-robin rule's turns, read and locked once for the batch
        for partner in partners:
            for rule in self:
                user = rule._coordinator_for(partner, turns)
                if user:
                    partners_by_user[user].append(partner.id)
                    break
        for user, partner_ids in partners_by_user.items():
            assigned = partners.browse(partner_ids)
            # the rules decide, not whoever's posting or saving made the customer
            assigned.with_company(company).sudo().billing_coordinator_id = user
            assigned._message_log_batch(
                bodies=dict.fromkeys(
                    assigned.ids,
                    self.env._("Coordinator %(user)s assigned by the portfolio rules.", user=user.name),
                )
            )

    def _coordinator_for(self, partner, turns):
        """The coordinator this rule gives ``partner``, or nothing; ``turns``: the
        round-robin rules' turns for the batch, by rule."""
        self.ensure_one()
        if self.rule_type == "country":
            return self.user_id if partner.country_id in self.country_ids else None
        if self.rule_type == "tag":
            return self.user_id if partner.category_id & self.category_ids else None
        if self not in turns:
            turns[self] = self._round_robin_turns()
        return next(turns[self], None)

    def _round_robin_pool(self):
        if self.user_ids:
            return self.user_ids.filtered("active").sorted("id")
        group = self.env.ref("billing_coordinator.group_billing_coordinator")
        return (
            self.env["res.users"]
            .sudo()
            .search(
                [
                    ("all_group_ids", "in", group.ids),
                    ("share", "=", False),
                    ("company_ids", "in", self.company_id.ids),
                ],
                order="id",
            )
        )

    def _round_robin_turns(self):
        """The coordinators in turn, from the one after the last assigned. The rule
        stays locked until the transaction ends, so that two concurrent creations
        do not take the same turns."""
        self.env.cr.execute(
            SQL("SELECT last_user_id FROM billing_assignment_rule WHERE id = %s FOR UPDATE", self.id)
        )
        self.invalidate_recordset(["last_user_id"])
        pool = self._round_robin_pool()
        start = next((index for index, user in enumerate(pool) if user.id > self.last_user_id.id), 0)
        for user in islice(cycle(pool), start, None):
            self.last_user_id = user  # written once, at the flush after the batch
            yield user
