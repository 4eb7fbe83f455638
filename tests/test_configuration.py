"""Every environment variable the settings read is documented: in .env.example and the README."""

import ast
import re

from django.conf import settings

SETTINGS_DIR = settings.BASE_DIR / "config" / "settings"
# Calls that read a variable by name: env("X"), env.int("X"), ... and production's required("X").
READERS = {"env", "required", "required_list"}
# Read by the test settings only, for the test run itself.
TEST_ONLY = {"TEST_PRIVATE_MEDIA_ROOT"}


def _reader_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        return func.value.id
    return None


def variables_read() -> set[str]:
    """The names of the environment variables config/settings/*.py read."""
    found = set()
    for path in SETTINGS_DIR.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and _reader_name(node.func) in READERS
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
                and re.fullmatch(r"[A-Z][A-Z0-9_]*", node.args[0].value)
            ):
                found.add(node.args[0].value)
    assert found, "no env() call found: the settings no longer read variables this way"
    return found - TEST_ONLY


def env_example_names() -> set[str]:
    text = (settings.BASE_DIR / ".env.example").read_text()
    return set(re.findall(r"^#? ?([A-Z][A-Z0-9_]*)=", text, flags=re.MULTILINE))


def test_every_environment_variable_is_in_the_readme():
    readme = (settings.BASE_DIR / "README.md").read_text()
    documented = set(re.findall(r"^\| `([A-Z][A-Z0-9_]*)` \|", readme, flags=re.MULTILINE))
    assert sorted(variables_read() - documented) == []


def test_every_environment_variable_is_in_env_example():
    assert sorted(variables_read() - env_example_names()) == []


def test_env_example_names_only_variables_the_settings_read():
    # DJANGO_SETTINGS_MODULE is read by Django itself, not by the settings.
    stale = env_example_names() - variables_read() - {"DJANGO_SETTINGS_MODULE"}
    assert sorted(stale) == []


def test_the_reader_finds_production_required_variables():
    # The production settings read their secrets through required(); the scan must see them.
    assert {"DJANGO_SECRET_KEY", "REMOTE_ACCESS_KEYS", "DEFAULT_FROM_EMAIL"} <= variables_read()
