"""docker-compose.yml ships no secret, refuses to start without one, and `make env` writes them."""

import re
import shutil
import stat
import subprocess

import pytest
import yaml
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


# The topology -----------------------------------------------------------------------------------

STACK = yaml.safe_load(COMPOSE)
SERVICES = STACK["services"]


def replicas(service: dict) -> int:
    return service.get("deploy", {}).get("replicas", 1)


def command_of(service: dict) -> str:
    command = service.get("command", "")
    return " ".join(command) if isinstance(command, list) else command


def runs(argument: str) -> dict[str, dict]:
    """The services whose command starts this program (gunicorn, celery … worker, …)."""
    return {name: s for name, s in SERVICES.items() if argument in command_of(s)}


def test_nginx_fronts_two_web_processes_of_one_definition():
    webs = runs("gunicorn config.wsgi")
    assert sum(replicas(s) for s in webs.values()) >= 2
    assert len({command_of(s) for s in webs.values()}) == 1
    assert len({yaml.safe_dump(s["environment"]) for s in webs.values()}) == 1
    upstream = SERVICES["nginx"]["environment"]["NGINX_UPSTREAM"].split(",")
    assert sorted(upstream) == sorted(f"{name}:8000" for name in webs)
    assert set(SERVICES["nginx"]["depends_on"]) == set(webs)
    # Reached through nginx only.
    assert all("ports" not in s for s in webs.values())


def test_two_workers_and_exactly_one_beat_guarded_by_the_lock():
    workers = runs("celery -A config worker")
    assert sum(replicas(s) for s in workers.values()) == 2
    beats = runs("celery -A config beat")
    assert sum(replicas(s) for s in beats.values()) == 1
    (beat,) = beats.values()
    # The scheduler of the settings, exactly once (core.beat), not one given on the command line.
    assert "--scheduler" not in command_of(beat)
    assert "-S " not in command_of(beat)
    assert "CELERY_BEAT_SCHEDULER" not in beat["environment"]
    assert settings.CELERY_BEAT_SCHEDULER == "core.beat:ExactlyOnceScheduler"


def test_redis_keeps_its_data_across_restarts():
    command = command_of(SERVICES["redis"])
    assert "--appendonly yes" in command
    assert "--maxmemory-policy noeviction" in command
    assert any(volume.endswith(":/data") for volume in SERVICES["redis"]["volumes"])


def test_attachments_go_to_a_private_bucket_a_one_shot_job_creates():
    portal = SERVICES["web-1"]["environment"]
    bucket = portal["AWS_STORAGE_BUCKET_NAME"]
    assert portal["AWS_S3_ENDPOINT_URL"] == "http://minio:9000"
    assert "MINIO_ROOT_USER" in portal["AWS_ACCESS_KEY_ID"]
    assert "MINIO_ROOT_PASSWORD" in portal["AWS_SECRET_ACCESS_KEY"]
    assert "minio/minio" in SERVICES["minio"]["image"]
    assert "healthcheck" in SERVICES["minio"]
    job = SERVICES["minio-bucket"]
    script = command_of(job)
    assert f"mc mb --ignore-existing portal/{bucket}" in script
    assert f"mc anonymous set none portal/{bucket}" in script
    assert job["restart"] == "no"
    assert job["depends_on"]["minio"]["condition"] == "service_healthy"
    # Every process of the portal, the migration included, starts once the bucket exists.
    portal_services = [name for name, s in SERVICES.items() if s.get("build") == "."]
    assert {"migrate", "web-1", "web-2", "worker", "beat"} <= set(portal_services)
    for name in portal_services:
        assert SERVICES[name]["environment"]["AWS_STORAGE_BUCKET_NAME"] == bucket
    assert (
        SERVICES["migrate"]["depends_on"]["minio-bucket"]["condition"]
        == "service_completed_successfully"
    )


def test_make_env_writes_the_minio_credentials(make_env, tmp_path):
    assert make_env().returncode == 0
    values = read_env_file(tmp_path / ".env")
    assert len(values["MINIO_ROOT_USER"]) >= 3
    # MinIO refuses a root password shorter than 8 characters.
    assert len(values["MINIO_ROOT_PASSWORD"]) >= 8
