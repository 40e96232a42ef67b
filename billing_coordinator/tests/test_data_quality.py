from unittest.mock import patch

from odoo import SUPERUSER_ID, api, fields, sql_db
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import tagged

from ..tools.data_checks import email_is_valid, vat_is_valid
from ..tools.sql_settings import local_setting
from .common_accounts import AccountsCommon


@tagged("post_install", "-at_install")
class TestDataQuality(AccountsCommon):
    def _draft_invoices(self, partners):
        """A draft invoice of one service line for each of ``partners``."""
        return self.env["account.move"].create([
            {
                "move_type": "out_invoice",
                "partner_id": partner.id,
                "invoice_line_ids": [(0, 0, {"name": "Service", "quantity": 1, "price_unit": 100.0})],
            }
            for partner in partners
        ])  # fmt: skip

    def test_rule_book_vat_and_email(self):
        self.assertTrue(vat_is_valid("DK12345674"))
        self.assertTrue(vat_is_valid("DK 12 34 56 74"))
        self.assertTrue(vat_is_valid("12345674", "DK"), "a bare CVR number of a Danish customer")
        self.assertFalse(vat_is_valid("DK12345675"), "wrong CVR checksum")
        self.assertFalse(vat_is_valid("12345675", "DK"))
        self.assertTrue(vat_is_valid("SE556036079301"))
        self.assertFalse(vat_is_valid("SE556036079302"))
        self.assertFalse(vat_is_valid(""))
        self.assertTrue(vat_is_valid("CHE-123.456.788", "CH"), "outside the EU only presence counts")
        self.assertTrue(vat_is_valid("CVR 12345674", "DK"), "a CVR number as Danes write it")
        self.assertFalse(vat_is_valid("CVR 12345675", "DK"))
        self.assertTrue(vat_is_valid("SE556036079301", "DK"), "a Danish customer registered in Sweden")
        for junk in ("n/a", "none", "ukendt", "NO123456789MVA"):
            with self.subTest(vat=junk):
                self.assertFalse(vat_is_valid(junk, "DK"), "a customer in the EU needs an EU number")
                self.assertFalse(vat_is_valid(junk, "DE"))
        self.assertTrue(vat_is_valid("NO123456789MVA", "NO"))
        self.assertTrue(email_is_valid("faktura@kunde.dk"))
        for bad in ("faktura@@kunde.dk", "faktura kunde.dk", "faktura@kunde", "a@b.dk, c@d.dk"):
            with self.subTest(email=bad):
                self.assertFalse(email_is_valid(bad))

    def test_good_customer_has_no_issue(self):
        customer = self._good_customer()
        self.assertFalse(self._issues(customer))
        self.assertFalse(customer.with_user(self.coordinator).billing_has_data_issue)

    def test_vat_missing_or_with_wrong_checksum(self):
        wrong = self._good_customer(vat="DK12345675")
        missing = self._good_customer(vat=False)
        private = self._good_customer(vat=False, is_company=False)
        placeholder = self._good_customer(vat="n/a")
        self.assertEqual(self._issue_codes(placeholder), {"vat"}, "a placeholder is no CVR number")
        issue = self._issues(wrong)
        self.assertEqual(issue.check_id.code, "vat")
        self.assertIn("DK12345675", issue.message)
        self.assertIn("checksum", issue.message)
        self.assertEqual(self._issue_codes(missing), {"vat"})
        self.assertIn("Add", self._issues(missing).message)
        self.assertFalse(self._issues(private), "a private customer needs no VAT number")

    def test_invoice_email(self):
        malformed = self._good_customer(email="faktura@@kunde.dk")
        missing = self._good_customer(email=False)
        self.assertEqual(self._issue_codes(malformed), {"invoice_email"})
        self.assertIn("faktura@@kunde.dk", self._issues(malformed).message)
        self.assertEqual(self._issue_codes(missing), {"invoice_email"})
        # the profile's invoice e-mail is what counts
        missing.billing_invoice_email = "bogholderi@kunde.dk"
        self.assertFalse(self._issues(missing))
        malformed.billing_invoice_email = "bogholderi(at)kunde.dk"
        self.assertEqual(self._issue_codes(malformed), {"invoice_email"})

    def test_address_payment_terms_language(self):
        for field, code in (
            ("street", "address"),
            ("zip", "address"),
            ("city", "address"),
            ("country_id", "address"),
            ("property_payment_term_id", "payment_terms"),
            ("lang", "language"),
        ):
            with self.subTest(field=field):
                customer = self._good_customer(**{field: False})
                self.assertEqual(self._issue_codes(customer), {code})

    def test_duplicate_vat_bank_and_email(self):
        first = self._good_customer()
        same_vat = self._good_customer(vat=" ".join(first.vat[i : i + 2] for i in range(0, 10, 2)))
        same_email = self._good_customer(email=first.email.upper())
        self.assertEqual(self._issue_codes(same_vat), {"duplicate_vat"})
        self.assertEqual(self._issues(same_vat).duplicate_partner_ids, first)
        self.assertIn(first.name, self._issues(same_vat).message)
        self.assertEqual(self._issue_codes(same_email), {"duplicate_email"})
        # saving the first customer finds the duplicates from its side too
        first.write({"street": "Strandvejen 100"})
        self.assertEqual(self._issue_codes(first), {"duplicate_vat", "duplicate_email"})

        bank_a, bank_b = self._good_customer(), self._good_customer()
        self.env["res.partner.bank"].create([
            {"acc_number": "DK50 0040 0440 1162 43", "partner_id": bank_a.id},
            {"acc_number": "DK5000400440116243", "partner_id": bank_b.id},
        ])  # fmt: skip
        bank_b.write({"street": "Strandvejen 200"})
        self.assertEqual(self._issue_codes(bank_b), {"duplicate_bank"})
        self.assertEqual(self._issues(bank_b).duplicate_partner_ids, bank_a)

    def test_archiving_a_duplicate_frees_its_counterpart_at_once(self):
        self.company.sudo().billing_data_issue_policy = "block"
        first = self._good_customer()
        same_vat = self._good_customer(vat=first.vat)
        first.write({"street": "Strandvejen 100"})
        self.assertEqual(self._issue_codes(first), {"duplicate_vat"})
        same_vat.with_user(self.coordinator).action_archive()
        self.assertFalse(self._issues(first), "not at night: posting is blocked until then")
        self.assertEqual(self._post_invoice(first, 100.0).state, "posted")

    def _queries_to_refresh_a_growing_cluster(self, count):
        """``count`` customers share an e-mail; one more joins them; the nightly
        refresh then updates every member's duplicate issue."""
        email = f"faelles{len(self.env['res.partner'].search([]))}@kunde.example"
        members = self.env["res.partner"].concat(
            *(self._good_customer(email=email) for _index in range(count))
        )
        newcomer = self._good_customer(email=email)
        _none, queries = self.count_queries(
            lambda: self.env["billing.data.issue"].sudo()._refresh_for_partners(members, self.company)
        )
        for member in members:
            issue = self._issues(member)
            self.assertEqual(issue.check_id.code, "duplicate_email")
            self.assertEqual(issue.duplicate_partner_ids, members + newcomer - member)
        return queries

    def test_refreshing_a_growing_cluster_of_duplicates_takes_the_same_queries(self):
        self.assert_queries_do_not_grow(
            self._queries_to_refresh_a_growing_cluster,
            2,
            6,
            "6 duplicates are refreshed with the queries of 2",
        )

    def test_near_duplicate_name_by_trigram_similarity(self):
        original = self._good_customer(name="Nordhavn Fiskehandel ApS", city="København Ø")
        near = self._good_customer(name="Nordhavns Fiskehandel A/S", city="København Ø")
        elsewhere = self._good_customer(name="Nordhavn Fiskehandel ApS", city="Skagen")
        other = self._good_customer(name="Vesterbro Blomster ApS", city="København Ø")
        issue = self._issues(near)
        self.assertEqual(issue.check_id.code, "duplicate_name")
        self.assertEqual(issue.duplicate_partner_ids, original)
        self.assertIn("Nordhavn Fiskehandel ApS", issue.message)
        self.assertFalse(self._issues(elsewhere), "same name in another city is another customer")
        self.assertFalse(self._issues(other))
        # a stricter threshold no longer reports the pair
        self.company.sudo().billing_duplicate_name_similarity = 0.95
        near.action_billing_refresh_data_issues()
        self.assertFalse(self._issues(near))

    def test_looser_name_similarity_than_the_trigram_default_finds_more(self):
        original = self._good_customer(name="Møller El ApS", city="Vejle")
        near = self._good_customer(name="Elinstallatør Møller og Co", city="Vejle")  # similarity 0.28
        self.assertFalse(self._issues(near), "not at the default 0.5")
        self.company.sudo().billing_duplicate_name_similarity = 0.25
        near.action_billing_refresh_data_issues()
        self.assertEqual(self._issues(near).duplicate_partner_ids, original)
        with self.assertRaisesRegex(ValidationError, "above 0"):
            self.company.sudo().billing_duplicate_name_similarity = 0.0

    def test_saving_a_customer_refreshes_its_issues(self):
        customer = self._good_customer(vat="DK12345675")
        self.assertEqual(self._issue_codes(customer), {"vat"})
        customer.with_user(self.coordinator).write({"vat": "DK12345674"})
        self.assertFalse(self._issues(customer))
        # the invoice contact's e-mail is part of the customer
        contact = self.env["res.partner"].create(
            {"name": "Bogholder", "parent_id": customer.id, "type": "invoice", "email": "bog@kunde.dk"}
        )
        customer.write({"email": False, "billing_invoice_contact_id": contact.id})
        self.assertFalse(self._issues(customer))
        contact.write({"email": "bog.kunde.dk"})
        self.assertEqual(self._issue_codes(customer), {"invoice_email"})

    def test_archiving_detaching_or_moving_a_customer_clears_its_issues(self):
        archived, detached, moved = (self._good_customer(lang=False) for _index in range(3))
        parent = self._good_customer()
        archived.with_user(self.coordinator).action_archive()
        detached.with_user(self.coordinator).parent_id = parent
        moved.company_id = self.company_b
        issues = self.env["billing.data.issue"].with_user(self.coordinator)
        gone = archived + detached + moved
        self.assertFalse(issues.search([("partner_id", "in", gone.ids)]), "no customer of A any more")
        self.assertIn("language", self._issue_codes(moved, self.company_b), "checked in its new company")

    def test_checking_all_customers_clears_issues_of_those_no_longer_checked(self):
        archived, detached, moved = (self._good_customer(lang=False) for _index in range(3))
        parent = self._good_customer()
        quiet = self.env["res.partner"].with_context(billing_skip_data_check=True)
        quiet.browse(archived.id).action_archive()
        quiet.browse(detached.id).parent_id = parent
        self.assertEqual(len(self._issues(archived + detached)), 2, "written without checking")
        self._check("language").with_user(self.manager).action_refresh_all()
        self.assertFalse(self._issues(archived + detached), "Check All Customers Now clears them")
        quiet.browse(moved.id).company_id = self.company_b
        self.assertTrue(self._issues(moved))
        self.startPatcher(patch.object(self.registry["ir.cron"], "_commit_progress", return_value=60.0))
        self.company.sudo().billing_data_check_date = False
        self.env["billing.data.issue"].sudo()._cron_refresh_data_issues()
        self.assertFalse(self._issues(moved), "the nightly run clears them too")

    def test_merging_duplicates_clears_their_duplicate_issues(self):
        kept = self._good_customer()
        merged = self._good_customer(vat=kept.vat)
        same_email_as_merged = self._good_customer(email=merged.email)
        kept.action_billing_refresh_data_issues()
        self.assertEqual(self._issue_codes(kept), {"duplicate_vat"})
        self.assertEqual(self._issue_codes(same_email_as_merged), {"duplicate_email"})
        self.env["base.partner.merge.automatic.wizard"]._merge((kept + merged).ids, kept)
        self.assertFalse(merged.exists())
        self.assertFalse(self._issues(kept), "the kept customer has no duplicate left")
        self.assertFalse(kept.with_user(self.coordinator).billing_has_data_issue)
        self.assertFalse(self._issues(same_email_as_merged), "the kept customer keeps its own e-mail")

    def test_a_shared_customer_is_checked_in_every_company(self):
        self.company_b.sudo().billing_data_issue_policy = "block"
        shared = self._good_customer(company_id=False, vat="DK12345675")
        self.assertEqual(self._issue_codes(shared), {"vat"})
        # (payment terms are per company: those typed in A are not B's)
        self.assertEqual(self._issue_codes(shared, self.company_b), {"vat", "payment_terms"})
        shared.with_user(self.coordinator).vat = "DK12345674"
        self.assertFalse(self._issues(shared))
        self.assertEqual(self._issue_codes(shared, self.company_b), {"payment_terms"})
        invoice = self._post_invoice(shared, 100, company=self.company_b)
        self.assertEqual(invoice.state, "posted", "company B no longer refuses the corrected customer")

    def test_my_customers_are_those_i_coordinate_in_each_issues_company(self):
        shared = self._good_customer(company_id=False, vat="DK12345675")
        shared.with_company(self.company).sudo().billing_coordinator_id = self.coordinator
        shared.with_company(self.company_b).sudo().billing_coordinator_id = self.coordinator_b
        # a billing manager working in both companies
        both = (
            self.env["billing.data.issue"]
            .sudo()
            .with_context(allowed_company_ids=(self.company | self.company_b).ids)
        )
        mine = both.search([("partner_id", "=", shared.id), ("coordinator_id", "=", self.coordinator.id)])
        theirs = both.search([("partner_id", "=", shared.id), ("coordinator_id", "=", self.coordinator_b.id)])
        self.assertEqual(mine.company_id, self.company)
        self.assertEqual(theirs.company_id, self.company_b)
        self.assertEqual(mine.coordinator_id, self.coordinator)

    def test_manager_switches_checks_on_and_off(self):
        customer = self._good_customer(lang=False)
        check = self._check("language").with_user(self.manager)
        check.enabled = False
        self.assertFalse(self._issues(customer), "switching a check off clears its issues")
        customer.action_billing_refresh_data_issues()
        self.assertFalse(self._issues(customer))
        check.enabled = True
        check.action_refresh_all()
        self.assertEqual(self._issue_codes(customer), {"language"})
        with self.assertRaises(AccessError):
            self._check("language").with_user(self.coordinator).write({"enabled": False})

    def test_nightly_cron_refreshes_once_a_day(self):
        quiet = self.env["res.partner"].with_context(billing_skip_data_check=True)
        customers = quiet.create([self._good_customer_vals(vat=f"DK1234567{n}") for n in (5, 6, 7)])
        self.assertFalse(self._issues(customers[0]), "created without checking")
        issues = self.env["billing.data.issue"].sudo()
        # outside a cron the progress call would commit: here it only reports time left
        self.startPatcher(patch.object(self.registry["ir.cron"], "_commit_progress", return_value=60.0))
        issues._cron_refresh_data_issues()
        self.assertEqual(len(self._issues(customers)), 3)
        self.assertEqual(self._issue_codes(customers), {"vat"})
        self.assertEqual(self.company.sudo().billing_data_check_date, self.today)
        # a second run the same day changes nothing and creates no duplicates
        customers[0].with_context(billing_skip_data_check=True).vat = "DK12345674"
        issues._cron_refresh_data_issues()
        self.assertEqual(len(self._issues(customers)), 3)
        self.company.sudo().billing_data_check_date = False
        issues._cron_refresh_data_issues()
        self.assertEqual(len(self._issues(customers)), 2)

    def test_posting_warns_or_blocks_on_blocking_issue(self):
        customer = self._good_customer(vat="DK12345675")
        self.assertTrue(self._check("vat").blocking)
        invoice = self._post_invoice(customer, 100)
        self.assertEqual(invoice.state, "posted")
        notes = " ".join(str(body) for body in invoice.message_ids.mapped("body"))
        self.assertIn("blocking data issues", notes)

        self.company.sudo().billing_data_issue_policy = "block"
        draft = self._draft_invoices(customer)
        self.assertIn("DK12345675", draft.billing_partner_data_warning)
        with self.assertRaisesRegex(UserError, "blocking data issues"):
            draft.with_user(self.coordinator).action_post()
        self.assertEqual(draft.state, "draft")
        # a non-blocking issue never stops posting
        self._check("vat").blocking = False
        draft.action_post()
        self.assertEqual(draft.state, "posted")

    def _queries_to_note(self, count):
        """Post one invoice for each of ``count`` customers on hold with a blocking
        VAT issue, in one batch."""
        customers = self.env["res.partner"].concat(*(
            self._good_customer(
                vat="DK12345675", billing_account_state="on_hold", billing_account_state_reason="Late payer"
            )
            for _index in range(count)
        ))  # fmt: skip
        moves = self._draft_invoices(customers)
        self.env.flush_all()
        before = self.env.cr.sql_log_count
        moves._billing_check_data_issues_before_post()
        moves._billing_note_account_state()
        self.env.flush_all()
        queries = self.env.cr.sql_log_count - before
        for move in moves:
            bodies = [str(body) for body in move.message_ids.mapped("body")]
            self.assertEqual(len([b for b in bodies if "blocking data issues" in b]), 1)
            self.assertEqual(len([b for b in bodies if "Posted while" in b]), 1)
            self.assertTrue(any("Late payer" in body for body in bodies), "the note gives the reason")
        return queries

    def test_posting_a_batch_notes_every_invoice_with_one_insert(self):
        self.assert_queries_do_not_grow(
            self._queries_to_note, 2, 6, "6 invoices are noted with the queries of 2"
        )

    def test_raising_the_rank_of_a_customer_checks_nothing_again(self):
        customers = self.env["res.partner"].concat(*(self._good_customer() for _index in range(6)))
        newcomer = self._good_customer(vat=False, customer_rank=0)
        self.assertFalse(self._issues(newcomer), "not a customer yet: not checked")
        self.env.flush_all()

        def queries_to_raise(partners):
            before = self.env.cr.sql_log_count
            for partner in partners:  # as Odoo raises it, invoice by invoice
                partner.customer_rank += 1
            self.env.flush_all()
            return self.env.cr.sql_log_count - before

        one = queries_to_raise(customers[:1])
        five = queries_to_raise(customers[1:])
        self.assertLessEqual(five - one, 4, "one UPDATE per customer, no data check")
        newcomer.customer_rank += 1  # the first invoice makes it a customer
        self.assertEqual(self._issue_codes(newcomer), {"vat"})

    def test_posting_first_invoices_checks_the_new_customers_once(self):
        newcomers = self.env["res.partner"].concat(*(
            self._good_customer(vat=False, customer_rank=0) for _index in range(5)
        ))  # fmt: skip
        known = self._good_customer(vat=False)
        invoices = self._draft_invoices(newcomers | known)
        issues = self.env.registry["billing.data.issue"]
        spy = patch.object(
            issues, "_refresh_for_partners", autospec=True, side_effect=issues._refresh_for_partners
        )
        with spy as refresh:
            invoices.action_post()
        self.assertEqual(refresh.call_count, 1, "one check for the batch, not one per new customer")
        self.assertEqual(refresh.call_args.args[1], newcomers, "only those the batch made customers")
        for newcomer in newcomers:
            self.assertEqual(self._issue_codes(newcomer), {"vat"})

    def test_checks_and_issues_never_mix_companies(self):
        customer_a = self._good_customer(vat="DK12345675")
        customer_b = self._good_customer(company=self.company_b, vat=customer_a.vat, name=customer_a.name)
        self.assertEqual(self._issue_codes(customer_a), {"vat"}, "company B's twin is no duplicate in A")
        self.assertEqual(self._issue_codes(customer_b, self.company_b), {"vat"})
        self._check("vat").enabled = False
        self.assertTrue(self._check("vat", self.company_b).enabled, "each company switches its own checks")
        self.assertEqual(self._issue_codes(customer_b, self.company_b), {"vat"})
        # a customer of company B saved while working in company A is checked in B
        typed_in_a = self.env["res.partner"].create(
            self._good_customer_vals(company_id=self.company_b.id, lang=False)
        )
        self.assertFalse(self._issues(typed_in_a, self.company))
        # (payment terms are per company: those typed in A are not B's)
        self.assertEqual(self._issue_codes(typed_in_a, self.company_b), {"language", "payment_terms"})
        seen_by_b = self.env["billing.data.issue"].with_user(self.coordinator_b).search([])
        self.assertEqual(seen_by_b.partner_id, customer_b + typed_in_a)
        checks_b = self.env["billing.data.check"].with_user(self.coordinator_b).search([])
        self.assertEqual(checks_b.company_id, self.company_b)

    def test_worklist_filter_with_data_issues(self):
        good = self._good_customer()
        bad = self._good_customer(lang=False)
        partners = self.env["res.partner"].with_user(self.coordinator)
        found = partners.search([("billing_has_data_issue", "=", True), ("id", "in", (good + bad).ids)])
        self.assertEqual(found, bad)
        found = partners.search([("billing_has_data_issue", "=", False), ("id", "in", (good + bad).ids)])
        self.assertEqual(found, good)
        self.assertEqual(bad.with_user(self.coordinator).billing_data_issue_count, 1)

    def test_nightly_check_and_users_of_the_company_do_not_hold_each_other_up(self):
        cursors = [self.registry.cursor() for _worker in range(3)]
        night, second_night, day = (api.Environment(cr, SUPERUSER_ID, {}) for cr in cursors)
        try:
            company = night.ref("base.main_company")
            # inserting an invoice or a customer of the company locks its row in key share mode
            # (the foreign-key check) until the user's transaction ends
            day.cr.execute("SELECT id FROM res_company WHERE id = %s FOR KEY SHARE", [company.id])
            self.assertTrue(night["billing.data.issue"]._lock_company(company))
            self.assertFalse(
                second_night["billing.data.issue"]._lock_company(company), "one nightly check at a time"
            )
            day.cr.rollback()
            day.cr.execute("SELECT id FROM res_company WHERE id = %s FOR KEY SHARE NOWAIT", [company.id])
            self.assertEqual(day.cr.fetchone(), (company.id,), "users go on while the check runs")
        finally:
            for cr in cursors:
                cr.rollback()
                cr.close()

    def test_nightly_check_runs_while_the_detection_scans_the_company(self):
        with (
            self.other_workers(2) as (detection, checks),
            patch.object(self.registry["ir.cron"], "_commit_progress", return_value=60.0),
            patch.object(self.registry["billing.discrepancy"], "_run_detection") as scan,
        ):
            company = checks.ref("base.main_company")
            today = fields.Date.context_today(company)
            self.assertNotEqual(company.billing_data_check_date, today, "precondition: not checked today")
            # the detection has the company in hand: its transaction is not over
            detection["billing.discrepancy"]._cron_run_detection()
            self.assertIn(company.id, [call.args[0].id for call in scan.call_args_list])
            checks["billing.data.issue"]._cron_refresh_data_issues()
            company.invalidate_recordset()
            self.assertEqual(company.billing_data_check_date, today, "checks skipped for the day")

    def test_name_similarity_threshold_on_a_new_database_connection(self):
        """The duplicate-name check sets pg_trgm's threshold, a setting that a
        database session only knows once it has loaded pg_trgm's library (a
        query or an insert of a customer that uses it): the nightly check may
        be the first to use pg_trgm on its connection. (A customer created
        here would load it: the check's setting is tested as it runs.)"""
        dbname = self.env.cr.dbname
        pool = sql_db.ConnectionPool(maxconn=1)  # a connection none of the tests used
        cr = sql_db.Connection(pool, dbname, sql_db.connection_info_for(dbname)[1]).cursor()
        try:
            cr.execute("SELECT current_setting('pg_trgm.similarity_threshold', true)")
            self.assertIsNone(cr.fetchone()[0], "precondition: a session that has not loaded pg_trgm")
            with local_setting(cr, "pg_trgm.similarity_threshold", 0.2):
                cr.execute(
                    "SELECT similarity('Jens Hansen', 'Jens Hansens'), "
                    "current_setting('pg_trgm.similarity_threshold')"
                )
                self.assertEqual(cr.fetchone()[1], "0.2")
            cr.execute("SELECT current_setting('pg_trgm.similarity_threshold')")
            self.assertEqual(cr.fetchone()[0], "0.3", "back to the session's default")
        finally:
            cr.rollback()
            cr.close()
            pool.close_all()
