import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_utils";

registry.category("web_tour.tours").add("billing_coordinator_accounts_tour", {
    url: "/odoo",
    steps: () => [
        ...stepUtils.goToAppSteps(
            "billing_coordinator.billing_coordinator_menu_root",
            "Open the Billing app"
        ),
        {
            content: "Switch to the portfolio kanban",
            trigger: ".o_switch_view.o_kanban",
            run: "click",
        },
        {
            content: "The customer's card shows its data issues",
            trigger: '.o_kanban_record:contains("Kanban Kunde ApS") .badge.text-bg-danger',
            run: "click",
        },
        {
            content: "Open the Billing tab",
            trigger: '.o_notebook .nav-link[name="billing_coordinator"]',
            run: "click",
        },
        {
            content: "The billing profile is there",
            trigger: '.o_field_widget[name="billing_channel"]',
        },
        {
            content: "The data issues say what to fix",
            trigger: '.o_field_widget[name="billing_data_issue_ids"] .o_data_row td[name="message"]:not(:empty)',
        },
    ],
});
