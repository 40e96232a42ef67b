import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_utils";

registry.category("web_tour.tours").add("billing_coordinator_portfolio_tour", {
    url: "/odoo",
    steps: () => [
        ...stepUtils.goToAppSteps(
            "billing_coordinator.billing_coordinator_menu_root",
            "Open the Billing app"
        ),
        {
            content: "My customers (in Danish) is the default filter",
            trigger: '.o_facet_value:contains("Mine kunder")',
        },
        {
            content: "The coordinator's own customer is listed",
            trigger: '.o_list_view .o_data_row td:contains("Tour Kunde ApS")',
        },
        {
            content: "A colleague's customer is not",
            trigger: '.o_list_view:not(:has(td:contains("Anden Kunde ApS")))',
        },
        {
            content: "Open the customer",
            trigger: '.o_list_view .o_data_row td:contains("Tour Kunde ApS")',
            run: "click",
        },
        {
            content: "The Billing tab (in Danish) is on the customer form",
            trigger: '.o_notebook .nav-link:contains("Faktureringsstyring")',
        },
    ],
});
