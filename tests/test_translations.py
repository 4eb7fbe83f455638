"""Every interface message must have its Italian and French translation."""

import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
SOURCE_DIRS = [
    "config",
    "core",
    "customers",
    "products",
    "schedule",
    "tickets",
    "notifications",
    "templates",
]


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    """Run makemessages on a copy of the sources, merging the committed catalogues."""
    if shutil.which("xgettext") is None:
        pytest.fail("gettext is not installed: `make test` installs it", pytrace=False)
    copy = tmp_path_factory.mktemp("i18n")
    for name in SOURCE_DIRS:
        shutil.copytree(ROOT / name, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "locale", copy / "locale")
    shutil.copy(ROOT / "manage.py", copy / "manage.py")
    subprocess.run(
        [
            sys.executable,
            "manage.py",
            "makemessages",
            "-l",
            "it",
            "-l",
            "fr",
            "--no-obsolete",
            "--ignore",
            "tests/*",
        ],
        cwd=copy,
        check=True,
        capture_output=True,
        env={
            "PATH": "/usr/bin:/bin",
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "PYTHONPATH": str(copy),
        },
    )
    return copy


@pytest.mark.parametrize("language", ["it", "fr"])
def test_every_message_is_translated(extracted, language):
    catalogue = polib.pofile(str(extracted / "locale" / language / "LC_MESSAGES" / "django.po"))
    missing = [entry.msgid for entry in catalogue.untranslated_entries()]
    fuzzy = [entry.msgid for entry in catalogue.fuzzy_entries()]
    assert not missing, f"{len(missing)} messages lack a {language} translation: {missing[:20]}"
    assert not fuzzy, f"{len(fuzzy)} {language} translations are fuzzy: {fuzzy[:20]}"


@pytest.mark.parametrize("language", ["it", "fr"])
def test_committed_catalogue_is_current(extracted, language):
    """The committed .po already holds every message (run `make messages-update` if not)."""
    path = Path("locale") / language / "LC_MESSAGES" / "django.po"
    committed = {e.msgid for e in polib.pofile(str(ROOT / path)) if not e.obsolete}
    current = {e.msgid for e in polib.pofile(str(extracted / path)) if not e.obsolete}
    assert not current - committed, f"not in {path}: {sorted(current - committed)[:20]}"
