{
    "name": "Billing Coordinator",
    "summary": "Customer accounts, payment discrepancies and dunning follow-up for billing coordinators",
    "version": "19.0.1.0.0",
    "category": "Accounting/Accounting",
    "author": "billing_coordinator developers",
    "website": "https://github.com/billing-coordinator/billing_coordinator",
    "license": "LGPL-3",
    "depends": ["account", "mail"],
    "external_dependencies": {"python": ["python-stdnum"]},
    "data": [
        "security/billing_coordinator_groups.xml",
        "security/ir.model.access.csv",
        "views/res_partner_views.xml",
        "views/account_move_views.xml",
        "views/billing_interest_rate_views.xml",
        "views/res_config_settings_views.xml",
        "views/billing_coordinator_menus.xml",
    ],
    "demo": [
        "demo/billing_coordinator_demo.xml",
    ],
    "assets": {
        "web.assets_tests": [
            "billing_coordinator/static/tests/tours/*.js",
        ],
    },
    "application": True,
    "installable": True,
}
