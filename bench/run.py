"""``make bench``: every operation on fresh copies of the template, one table.

    python3 bench/run.py --size S [--only dunning_plan,floor_dunning] [--reps 3]

Each measurement copies the template (``createdb -T`` and its filestore) to
``bench_run_<size>``, runs one operation in a fresh process (bench/operations.py)
and drops the copy. An operation and the reference its target is set against
are measured in turns (``IN_TURNS``). Wall seconds are the median of the runs;
an operation whose first run takes longer than ``SLOW_SECONDS`` runs once (the
table says so), one that takes less than ``QUICK_SECONDS`` runs at least
``QUICK_REPS`` times: a sub-second timing on a shared machine varies by a
quarter from run to run. Peak RSS is the largest of the runs. The table goes to stdout and to
``bench/results/<size>.md``.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib
import generate

SLOW_SECONDS = 120
QUICK_SECONDS = 10
QUICK_REPS = 7
RSS_LIMIT_MIB = 500

# (operation, label, template needs OCA)
ROWS = [
    ("floor_dunning", "SQL floor: overdue customers and invoices", False),
    ("floor_detection", "SQL floor: discrepancy candidate facts", False),
    ("floor_ar", "SQL floor: AR figures per customer", False),
    ("list_plain", "Partner list, plain (name, VAT, country)", False),
    ("list_billing_no_ar", "Partner list, billing list view without the AR figures", False),
    ("list_billing", "Partner list, billing list view with the AR figures", False),
    ("floor_plan_write", "SQL floor of writing: the dry run's rows inserted again in one statement", False),
    ("dunning_plan", "Dunning planning (dry run), first night (no dunning history)", False),
    ("dunning_plan_nightly", "Dunning planning (dry run), a night later (yesterday's run sent)", False),
    ("dunning_full", "Full dunning run, e-mails with letter PDF", False),
    ("dunning_full_nopdf", "Full dunning run, e-mails without PDF", False),
    (
        "floor_detection_write",
        "SQL floor of writing: the first scan's tickets and links inserted again in one statement",
        False,
    ),
    ("detection", "Discrepancy detection, first scan (opens every ticket)", False),
    ("detection_rescan", "Discrepancy detection, nightly rescan (tickets exist)", False),
    ("detection_after_payment", "Discrepancy detection after a payment, 20 customers one by one", False),
    ("oca_full_nopdf", "OCA credit control: run + e-mails without PDF", True),
    ("oca_full", "OCA credit control: run + e-mails with PDF", True),
]
# (operation, reference, target ratio operation/reference or None, how the target reads)
COMPARISONS = [
    ("dunning_plan", "floor_dunning", 3.0, "≤ 3x floor"),
    ("dunning_plan", "floor_plan_write", None, "(information)"),
    ("dunning_plan_nightly", "floor_dunning", 3.0, "≤ 3x floor"),
    ("floor_plan_write", "floor_dunning", None, "(information)"),
    ("dunning_full", "oca_full", 0.1, "≥ 10x faster than OCA"),
    ("dunning_full", "floor_dunning", None, "(information)"),
    ("dunning_full_nopdf", "oca_full_nopdf", None, "(information)"),
    ("detection", "floor_detection", 3.0, "≤ 3x floor"),
    ("detection", "floor_detection_write", None, "(information)"),
    ("floor_detection_write", "floor_detection", None, "(information)"),
    ("detection_rescan", "floor_detection", 3.0, "≤ 3x floor"),
    ("list_billing", "list_billing_no_ar", 1.5, "≤ 1.5x the same list without them"),
    ("list_billing", "list_plain", None, "(information)"),
]
# measured in turns: an operation with the reference its target is set against
IN_TURNS = [
    ("floor_dunning", "floor_plan_write", "dunning_plan", "dunning_plan_nightly"),
    ("floor_detection", "floor_detection_write", "detection", "detection_rescan"),
    ("list_plain", "list_billing_no_ar", "list_billing"),
]
NOT_YET = "not installed yet"
# the model an operation needs; without it the operation is not on this branch yet
NEEDS_MODEL = {
    "dunning_plan": "billing.dunning.run",
    "dunning_plan_nightly": "billing.dunning.run",
    "floor_plan_write": "billing.dunning.run",
    "dunning_full": "billing.dunning.run",
    "dunning_full_nopdf": "billing.dunning.run",
    "floor_detection_write": "billing.discrepancy",
    "detection": "billing.discrepancy",
    "detection_rescan": "billing.discrepancy",
    "detection_after_payment": "billing.discrepancy",
}


def log(message):
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def measure_once(template, run_db, op):
    benchlib.copy_db(template, run_db)
    try:
        proc = subprocess.run(
            ["python3", str(benchlib.BENCH / "operations.py"), "--db", run_db, "--op", op],
            capture_output=True, text=True, cwd=benchlib.ROOT, env=benchlib.pg_env(),
        )  # fmt: skip
    finally:
        benchlib.drop_db(run_db)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode or not lines:
        tail = "\n".join(proc.stderr.splitlines()[-25:])
        return {"status": "failed", "error": tail}
    return json.loads(lines[-1])


def measure(size, ops, with_oca, reps):
    """``{op: summary}`` for operations measured in turns (one run of each per
    round), so that a slow minute of the shared machine falls on an operation
    and its reference alike."""
    template = benchlib.template_name(size, oca=with_oca)
    run_db = f"bench_run_{size.lower()}"
    summaries, runs = {}, {}
    for op in ops:
        needed = NEEDS_MODEL.get(op)
        if needed and not benchlib.psql(template, f"SELECT 1 FROM ir_model WHERE model = '{needed}'"):
            summaries[op] = {"status": NOT_YET}
        else:
            runs[op] = []
    rep = 0
    while rep < reps and runs:
        for op in list(runs):
            outcome = measure_once(template, run_db, op)
            if outcome["status"] != "ok":
                log(f"{op}: {outcome['status']}\n{outcome.get('error', '')}")
                summaries[op] = outcome
                del runs[op]
                continue
            runs[op].append(outcome)
            log(f"{op} run {rep + 1}: {outcome['wall']:.3f} s, {outcome['queries']} queries")
        if any(outcomes[-1]["wall"] > SLOW_SECONDS for outcomes in runs.values()):
            break
        if rep == 0 and runs and all(outcomes[0]["wall"] < QUICK_SECONDS for outcomes in runs.values()):
            reps = max(reps, QUICK_REPS)
        rep += 1
    summaries.update({op: summary(outcomes) for op, outcomes in runs.items()})
    return summaries


def summary(runs):
    return {
        "status": "ok",
        "runs": len(runs),
        "wall": statistics.median(r["wall"] for r in runs),
        "queries": int(statistics.median(r["queries"] for r in runs)),
        "rss_mib": max(r["rss_mib"] for r in runs),
        "child_rss_mib": max(r["child_rss_mib"] for r in runs),
        "result": runs[-1]["result"],
    }


def fmt_result(result):
    return ", ".join(f"{key} {value}" for key, value in result.items())


def figures_table(measured):
    head = [
        "| operation | wall s (median) | runs | peak RSS MiB | largest child RSS MiB | queries | produced |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    rows = []
    for op, label, _oca in ROWS:
        m = measured[op]
        if m["status"] != "ok":
            rows.append(f"| {label} | {m['status']} | | | | | |")
            continue
        rss = f"{m['rss_mib']:.0f}" + (" **over 500**" if m["rss_mib"] > RSS_LIMIT_MIB else "")
        rows.append(
            f"| {label} | {m['wall']:.3f} | {m['runs']} | {rss} | {m['child_rss_mib']:.0f} "
            f"| {m['queries']} | {fmt_result(m['result'])} |"
        )
    return head + rows


def verdict(ratio, target):
    if target is None:
        return "—"
    return "met" if ratio <= target else "**MISSED**"


def ratios_table(measured, labels):
    head = ["| operation | against | ratio | target | verdict |", "| --- | --- | ---: | --- | --- |"]
    rows = []
    for op, ref, target, reads in COMPARISONS:
        m, r = measured[op], measured[ref]
        if m["status"] != "ok" or r["status"] != "ok":
            missing = labels[op] if m["status"] != "ok" else labels[ref]
            rows.append(f"| {labels[op]} | {labels[ref]} | — | {reads} | not measurable: {missing} "
                        f"{m['status'] if m['status'] != 'ok' else r['status']} |")  # fmt: skip
            continue
        ratio = m["wall"] / r["wall"] if r["wall"] else float("inf")
        shown = f"{ratio:.2f}x" + (f" ({1 / ratio:.1f}x faster)" if 0 < ratio < 1 else "")
        rows.append(f"| {labels[op]} | {labels[ref]} | {shown} | {reads} | {verdict(ratio, target)} |")
    over = [labels[op] for op, m in measured.items() if m["status"] == "ok" and m["rss_mib"] > RSS_LIMIT_MIB]
    rss_line = f"Peak RSS under {RSS_LIMIT_MIB} MiB for every measured operation: " + (
        "**MISSED** by " + ", ".join(over) if over else "met"
    )
    return head + rows, rss_line


def environment(size):
    import odoo.release

    template = benchlib.template_name(size)
    pg = benchlib.psql(template, "SHOW server_version")[0][0]
    stats = benchlib.psql(template, """
        SELECT count(DISTINCT partner_id), count(*),
               count(*) FILTER (WHERE payment_state IN ('not_paid', 'partial')),
               count(*) FILTER (WHERE payment_state IN ('not_paid', 'partial')
                                  AND invoice_date_due < CURRENT_DATE)
          FROM account_move WHERE move_type = 'out_invoice' AND state = 'posted'
    """)[0]  # fmt: skip
    generated = benchlib.psql(
        template, f"SELECT value FROM ir_config_parameter WHERE key = '{generate.PARAM_DATE}'"
    )
    return [
        f"- machine: {os.cpu_count()} cores (`os.cpu_count()`), shared with other work while measuring",
        f"- Odoo {odoo.release.version}, PostgreSQL {pg}",
        f"- dataset `{template}` (seed {benchlib.SEED}, generated {generated[0][0] if generated else '?'}): "
        f"{stats[0]} customers with {stats[1]} posted invoices, {stats[2]} open, {stats[3]} of them overdue; "
        "two companies (DKK, EUR)",
        f"- measured {time.strftime('%Y-%m-%d %H:%M')}",
    ]


def report(size, measured):
    labels = {op: label for op, label, _oca in ROWS}
    ratios, rss_line = ratios_table(measured, labels)
    lines = [
        f"# Benchmark, size {size}",
        "",
        *environment(size),
        "",
        *figures_table(measured),
        "",
        "Ratios: wall time of the operation divided by that of its reference (below 1 = faster).",
        "The issue's targets are set for size M; at a smaller size a verdict is an indication only.",
        "",
        *ratios,
        "",
        rss_line + ".",
        "",
        "Notes: queries = statements sent through Odoo's cursors (`odoo.sql_db.sql_counter`) during the",
        "operation; peak RSS is the operation's Python process (`getrusage(RUSAGE_SELF)`), the child column",
        "the largest subprocess (wkhtmltopdf; ~65 MiB is Odoo's own `wkhtmltopdf --version` at start).",
        f"'{NOT_YET}' means the capability is not on this branch yet; no figure is invented for it.",
        "PDFs render without the web client's CSS (no HTTP server serves the bench databases), for",
        "OCA and ours alike. OCA runs once per measurement when a run exceeds "
        f"{SLOW_SECONDS} s (column 'runs').",
    ]
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--size", choices=sorted(benchlib.SIZES), default="S")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--only", help="comma-separated operations (the others are not run)")
    parser.add_argument(
        "--out", help="write the table here (default: bench/results/<size>.md, unless --only is given)"
    )
    args = parser.parse_args()
    only = set(args.only.split(",")) if args.only else None
    generate.build(args.size, with_oca=any(oca and (not only or op in only) for op, _label, oca in ROWS))
    out = Path(args.out).resolve() if args.out else benchlib.BENCH / "results" / f"{args.size}.md"
    write = not only or bool(args.out)
    out.parent.mkdir(exist_ok=True)
    measured = {
        op: {"status": "not run (--only)" if only and op not in only else "pending"} for op, *_ in ROWS
    }
    labels = {op: label for op, label, _oca in ROWS}
    for op, _label, with_oca in ROWS:
        if measured[op]["status"] != "pending":
            continue
        group = next((g for g in IN_TURNS if op in g), (op,))
        group = [member for member in group if measured[member]["status"] == "pending"]
        log(" + ".join(labels[member] for member in group) + " ...")
        measured.update(measure(args.size, group, with_oca, args.reps))
        if write:  # written after every row: an interrupted run leaves "pending" rows, no guesses
            out.write_text(report(args.size, measured), encoding="utf-8")
    text = report(args.size, measured)
    print(text)
    if write:
        log(f"written to {out}")
    failed = [op for op, m in measured.items() if m["status"] == "failed"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
