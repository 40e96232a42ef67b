from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..tools.sql_arrays import id_array
from .billing_discrepancy import DISPUTE_TYPES
from .billing_discrepancy_stage import CLOSED_STATES
from .res_partner import ACCOUNT_STATES, HELD_ACCOUNT_STATES

COORDINATOR_GROUP = "billing_coordinator.group_billing_coordinator"


class AccountMove(models.Model):
    _inherit = "account.move"

    # the open customer invoices: what detection reads every night, a small part
    # of all invoices once a company has a few years of history
    _billing_open_invoice_idx = models.Index(
        "(company_id, commercial_partner_id) WHERE move_type = 'out_invoice' AND state = 'posted'"
        " AND payment_state IN ('not_paid', 'partial')"
    )

    billing_discrepancy_ids = fields.Many2many(
        "billing.discrepancy",
        "billing_discrepancy_account_move_rel",
        "account_move_id",
        "billing_discrepancy_id",
        string="Discrepancies",
        copy=False,
        readonly=True,
        groups=COORDINATOR_GROUP,
    )

    billing_is_disputed = fields.Boolean(
        string="Disputed",
        compute="_compute_billing_is_disputed",
        store=True,
        index="btree_not_null",
        help="The customer disputes this invoice: dunning leaves it alone until the dispute is resolved.",
    )

    # accounts wing: the customer's account state and blocking data issues
    billing_partner_account_state = fields.Selection(
        selection=ACCOUNT_STATES,
        string="Customer Account State",
        compute="_compute_billing_partner_account_state",
    )

    billing_partner_account_state_reason = fields.Char(
        string="Customer Account State Reason",
        compute="_compute_billing_partner_account_state",
    )

    billing_partner_data_warning = fields.Char(
        string="Customer Data Warning",
        compute="_compute_billing_partner_data_warning",
    )

    billing_discrepancy_count = fields.Integer(
        string="Discrepancy Count", compute="_compute_billing_discrepancy_count", groups=COORDINATOR_GROUP
    )

    @api.depends("commercial_partner_id", "company_id")
    def _compute_billing_partner_account_state(self):
        for move in self:
            customer = move.commercial_partner_id.with_company(move.company_id)
            move.billing_partner_account_state = customer.billing_account_state
            move.billing_partner_account_state_reason = customer.billing_account_state_reason

    @api.depends("commercial_partner_id", "company_id", "move_type")
    def _compute_billing_partner_data_warning(self):
        issues_by_move = self._billing_blocking_data_issues()
        for move in self:
            issues = issues_by_move.get(move, [])
            move.billing_partner_data_warning = "; ".join(issue.message for issue in issues) or False

    def _billing_blocking_data_issues(self):
        """``{invoice: [blocking data issues of its customer in its company]}``, one search for all."""
        invoices = self.filtered(lambda m: m.is_sale_document() and m.commercial_partner_id)
        if not invoices:
            return {}
        issues = (
            self.env["billing.data.issue"]
            .sudo()
            .search([
                ("company_id", "in", invoices.company_id.ids),
                ("partner_id", "in", invoices.commercial_partner_id.ids),
                ("check_id.blocking", "=", True),
            ])
        )  # fmt: skip
        by_customer = issues.grouped(lambda issue: (issue.partner_id, issue.company_id))
        return {
            move: by_customer.get((move.commercial_partner_id, move.company_id), issues.browse())
            for move in invoices
        }

    def _post(self, soft=True):
        self._billing_check_data_issues_before_post()
        newcomers = self._billing_partners_without_rank()
        # Odoo raises each partner's rank on its own: check the new customers once, after
        posting = self.with_context(billing_defer_newcomer_check=True)
        posted = super(AccountMove, posting)._post(soft=soft).with_env(self.env)
        new_customers = newcomers.filtered("customer_rank").commercial_partner_id._billing_customers()
        new_customers._billing_assign_coordinators()
        new_customers._billing_refresh_data_issues()
        posted._billing_note_account_state()
        return posted

    def _billing_partners_without_rank(self):
        """The partners of these moves who are no customer yet: posting may make them one."""
        partners = self.partner_id | self.line_ids.partner_id
        return (partners | partners.commercial_partner_id).filtered(lambda partner: not partner.customer_rank)

    def _reconcile_reversed_moves(self, reverse_moves, move_reverse_cancel):
        """Odoo reconciles each invoice with its credit note apart: look for
        discrepancies once, after all of them (credit notes for many invoices)."""
        deferred = self.with_context(billing_defer_detection=True)
        result = super(AccountMove, deferred)._reconcile_reversed_moves(
            reverse_moves.with_context(billing_defer_detection=True), move_reverse_cancel
        )
        customer_moves = (self | reverse_moves).filtered(lambda m: m.is_sale_document(include_receipts=True))
        self.env["billing.discrepancy"]._run_detection_for_partners(
            customer_moves.commercial_partner_id, customer_moves.company_id
        )
        return result

    def _billing_note_account_state(self):
        """An invoice posted for a customer on hold or blocked says so in its chatter."""
        labels = dict(self._fields["billing_partner_account_state"]._description_selection(self.env))
        held = self.filtered(
            lambda m: m.is_sale_document() and m.billing_partner_account_state in HELD_ACCOUNT_STATES
        )
        if held:  # one insert for the batch's notes
            held._message_log_batch(
                bodies={
                    move.id: self.env._(
                        "Posted while the customer's account is %(state)s: %(reason)s",
                        state=labels[move.billing_partner_account_state],
                        reason=move.billing_partner_account_state_reason or "-",
                    )
                    for move in held
                }
            )

    def _billing_check_data_issues_before_post(self):
        """Refuse or note posting invoices for customers with blocking data issues (company setting)."""
        notes = {}
        for move, issues in self._billing_blocking_data_issues().items():
            if not issues:
                continue
            what = "; ".join(issue.message for issue in issues)
            if move.company_id.billing_data_issue_policy == "block":
                raise UserError(
                    self.env._(
                        "%(customer)s has blocking data issues; fix them before posting: %(issues)s",
                        customer=move.commercial_partner_id.display_name,
                        issues=what,
                    )
                )
            notes[move.id] = self.env._(
                "Posted although the customer has blocking data issues: %(issues)s", issues=what
            )
        if notes:  # one insert for the batch's notes
            self.browse(notes)._message_log_batch(bodies=notes)

    @api.depends("billing_discrepancy_ids.state", "billing_discrepancy_ids.discrepancy_type")
    def _compute_billing_is_disputed(self):
        disputed_ids = self._origin._billing_disputed_ids()
        # the stored flags first, so that a flag that stays is not written: the
        # detection links thousands of invoices to tickets that dispute nothing,
        # and rewriting them would lock them and change their last-modified date
        self._origin.sudo().fetch(["billing_is_disputed"])
        for move in self:
            move.billing_is_disputed = move._origin.id in disputed_ids

    def _billing_disputed_ids(self):
        """The ids of ``self`` an open dispute ticket names, in one query from the
        links: detection links thousands of invoices at once, and through the
        ORM the invoices' domain of ``invoice_ids`` made PostgreSQL scan every
        journal entry for each thousand of them."""
        self.flush_model(["billing_discrepancy_ids"])
        self.env["billing.discrepancy"].flush_model(["invoice_ids", "discrepancy_type", "state"])
        self.env.cr.execute(
            SQL(
                """SELECT DISTINCT link.account_move_id
                     FROM billing_discrepancy_account_move_rel link
                     JOIN billing_discrepancy ticket ON ticket.id = link.billing_discrepancy_id
                    WHERE link.account_move_id = ANY(%(moves)s)
                      AND ticket.discrepancy_type IN %(disputes)s
                      AND (ticket.state IS NULL OR ticket.state NOT IN %(closed)s)""",
                moves=id_array(self.ids),
                disputes=DISPUTE_TYPES,
                closed=CLOSED_STATES,
            )
        )
        return {move_id for (move_id,) in self.env.cr.fetchall()}

    def _compute_billing_discrepancy_count(self):
        counts = dict(
            self.env["billing.discrepancy"]._read_group(
                [("invoice_ids", "in", self.ids)], ["invoice_ids"], ["__count"]
            )
        )
        for move in self:
            move.billing_discrepancy_count = counts.get(move._origin, 0)

    def action_billing_dispute(self):
        """Open a dispute ticket for this invoice (disputed lines, amount, reason)."""
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Dispute %(invoice)s", invoice=self.name),
            "res_model": "billing.discrepancy.raise",
            "view_mode": "form",
            "target": "new",
            "context": {"default_invoice_id": self.id, "default_discrepancy_type": "pricing_dispute"},
        }

    def action_view_billing_discrepancies(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "billing_coordinator.billing_discrepancy_action"
        )
        action["domain"] = [("invoice_ids", "in", self.ids)]
        action["context"] = {
            "default_invoice_ids": self.ids,
            "default_partner_id": self.commercial_partner_id.id,
        }
        return action
