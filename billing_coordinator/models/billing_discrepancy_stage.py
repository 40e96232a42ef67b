from odoo import fields, models

STAGE_STATES = [
    ("new", "New"),
    ("in_progress", "In Progress"),
    ("waiting", "Waiting for Customer"),
    ("resolved", "Resolved"),
    ("cancelled", "Cancelled"),
]
CLOSED_STATES = ("resolved", "cancelled")


class BillingDiscrepancyStage(models.Model):
    _name = "billing.discrepancy.stage"
    _description = "Discrepancy Stage"
    _order = "sequence, id"

    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(default=10)
    state = fields.Selection(
        STAGE_STATES,
        required=True,
        default="in_progress",
        help="What the stage means to the system: tickets in a resolved or cancelled stage are closed.",
    )
    fold = fields.Boolean(string="Folded in Kanban")
    active = fields.Boolean(default=True)

    def _stage_for_state(self, state):
        """The first active stage that means ``state``."""
        return self.search([("state", "=", state)], limit=1)
