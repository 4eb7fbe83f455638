"""The README documents every environment variable the settings read."""

import re

from django.conf import settings

ENV_READ = re.compile(r"\benv(?:\.[a-z]+)?\(\s*\"([A-Z][A-Z0-9_]*)\"")


def test_every_environment_variable_is_in_the_readme():
    readme = (settings.BASE_DIR / "README.md").read_text()
    documented = set(re.findall(r"^\| `([A-Z][A-Z0-9_]*)` \|", readme, flags=re.MULTILINE))
    read = set()
    for path in (settings.BASE_DIR / "config" / "settings").glob("*.py"):
        read |= set(ENV_READ.findall(path.read_text()))
    assert read, "no env() call found: the pattern no longer matches the settings"
    assert sorted(read - documented) == []
