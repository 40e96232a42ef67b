"""Keep billing_coordinator's translations complete.

python3 scripts/i18n.py update DB   export the .pot from database DB and merge
                                    it into da.po (new strings left empty)
python3 scripts/i18n.py check DB    fail when the committed .pot differs from a
                                    fresh export, or da.po misses a translation
"""

import subprocess
import sys
import tempfile
from pathlib import Path

import polib

ADDON = "billing_coordinator"
I18N = Path(__file__).resolve().parent.parent / ADDON / "i18n"
POT = I18N / f"{ADDON}.pot"
LANGS = {"da": "da_DK"}


def export_pot(db, target):
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / f"{ADDON}.pot"
        subprocess.run(
            ["python3", "-m", "odoo", "i18n", "export", "-c", ".odoo/odoo.conf", "-d", db,
             "-o", str(out), ADDON],
            check=True, capture_output=True,
        )  # fmt: skip
        pot = polib.pofile(str(out))
    pot.save(str(target))
    return pot


def entry_key(entry):
    return (entry.msgctxt, entry.msgid)


def merge(pot, lang_file):
    old = {entry_key(e): e for e in polib.pofile(str(lang_file))} if lang_file.exists() else {}
    po = polib.POFile()
    po.metadata = dict(pot.metadata, Language=lang_file.stem)
    for entry in pot:
        previous = old.get(entry_key(entry))
        entry.msgstr = previous.msgstr if previous else ""
        po.append(entry)
    po.save(str(lang_file))
    return [e.msgid for e in po if not e.msgstr]


def untranslated(lang_file):
    return [e.msgid for e in polib.pofile(str(lang_file)) if not e.msgstr and not e.obsolete]


def main(command, db):
    if command == "update":
        pot = export_pot(db, POT)
        for lang in LANGS:
            missing = merge(polib.pofile(str(POT)), I18N / f"{lang}.po")
            print(f"{lang}.po: {len(pot)} strings, {len(missing)} to translate")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        fresh = export_pot(db, Path(tmp) / "fresh.pot")
    committed = {entry_key(e) for e in polib.pofile(str(POT))}
    stale = {entry_key(e) for e in fresh} ^ committed
    problems = [f"{POT.name} is stale ({len(stale)} strings differ): run `make pot`"] if stale else []
    for lang in LANGS:
        missing = untranslated(I18N / f"{lang}.po")
        lang_keys = {entry_key(e) for e in polib.pofile(str(I18N / f"{lang}.po"))}
        missing += [msgid for _ctx, msgid in committed - lang_keys]
        if missing:
            problems.append(f"{lang}.po lacks {len(missing)} translations, e.g. {missing[:3]}")
    for problem in problems:
        print(f"ERROR: i18n: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
