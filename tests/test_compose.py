"""docker-compose.yml ships no secret, refuses to start without one, and `make env` writes them."""

import re
import shutil
import stat
import subprocess

import pytest
from cryptography.fernet import Fernet
from django.conf import settings

BASE_DIR = settings.BASE_DIR
COMPOSE = (BASE_DIR / "docker-compose.yml").read_text()
# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?message}, ${NAME?message}
INTERPOLATION = re.compile(r"\$\{([A-Z][A-Z0-9_]*)(?:(:?[-?])([^}]*))?\}")
SECRET_NAME = re.compile(r"SECRET|PASSWORD|KEYS?$|TOKEN")


def interpolations() -> list[tuple[str, str, str]]:
    return INTERPOLATION.findall(COMPOSE)


def read_env_file(path) -> dict[str, str]:
    pairs = {}
    for line in path.read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            pairs[name] = value
    return pairs


@pytest.fixture
def make_env(tmp_path):
    """Run `make env` in a folder holding the Makefile, as a fresh clone would."""
    shutil.copy(BASE_DIR / "Makefile", tmp_path)
    shutil.copy(BASE_DIR / "pyproject.toml", tmp_path)

    def run(*args):
        return subprocess.run(
            ["make", "--no-print-directory", "env", *args],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
        )

    return run


def test_compose_ships_no_secret():
    assert "change-me" not in COMPOSE
    assert not re.search(r"[A-Za-z0-9_-]{43}=", COMPOSE), "a Fernet key is written in the file"
    secrets_read = [(name, op) for name, op, _ in interpolations() if SECRET_NAME.search(name)]
    assert {name for name, _ in secrets_read} >= {
        "DJANGO_SECRET_KEY",
        "REMOTE_ACCESS_KEYS",
        "POSTGRES_PASSWORD",
    }
    for name, op in secrets_read:
        assert op == ":?", f"${{{name}}} must refuse to start when unset or empty, not default"


def test_compose_names_the_missing_variable_and_how_to_make_it():
    for name, op, message in interpolations():
        if op == ":?":
            assert name in message, f"the message for {name} does not name it: {message!r}"
            assert "make env" in message


def test_make_env_writes_every_variable_compose_requires(make_env, tmp_path):
    result = make_env()
    assert result.returncode == 0, result.stderr
    env_file = tmp_path / ".env"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    values = read_env_file(env_file)
    required = {name for name, op, _ in interpolations() if op in (":?", "?")}
    assert sorted(required - set(values)) == []
    assert all(values[name].strip() for name in required)
    assert len(values["DJANGO_SECRET_KEY"]) >= 50
    Fernet(values["REMOTE_ACCESS_KEYS"].encode())  # a valid key, or this raises


def test_make_env_never_overwrites_an_existing_env_unless_forced(make_env, tmp_path):
    assert make_env().returncode == 0
    first = (tmp_path / ".env").read_text()
    again = make_env()
    assert again.returncode != 0
    assert ".env exists" in again.stdout + again.stderr
    assert (tmp_path / ".env").read_text() == first
    assert make_env("FORCE=1").returncode == 0
    second = read_env_file(tmp_path / ".env")
    assert second["DJANGO_SECRET_KEY"] not in first
