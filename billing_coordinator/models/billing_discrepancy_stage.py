from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError

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

    def write(self, vals):
        states_before = set(self.filtered("active").mapped("state"))
        result = super().write(vals)
        touched = {"active", "state"} & vals.keys()
        if touched and (missing := self._states_without_stage(states_before)):
            raise ValidationError(self._no_stage_message(missing))
        return result

    @api.ondelete(at_uninstall=False)
    def _unlink_except_last_stage_of_a_state(self):
        if missing := self._states_without_stage(set(self.mapped("state")), leaving=self):
            raise UserError(self._no_stage_message(missing))

    def _states_without_stage(self, states, leaving=None):
        """Those of ``states`` no active stage means (once ``leaving`` is gone): the
        detection and the resolutions move tickets to each of them."""
        leaving = leaving or self.browse()
        kept = {state for (state,) in self._read_group([("id", "not in", leaving.ids)], ["state"])}
        return [state for state, _label in STAGE_STATES if state in states and state not in kept]

    def _no_stage_message(self, states):
        labels = dict(self._fields["state"]._description_selection(self.env))
        return self.env._(
            "Keep an active stage for %(states)s: tickets move there.",
            states=", ".join(labels[state] for state in states),
        )

    def _stage_for_state(self, state):
        """The first active stage that means ``state``."""
        return self.search([("state", "=", state)], limit=1)
