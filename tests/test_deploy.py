"""Production settings pass the deployment checklist, and refuse to start with any gap."""

import json
import os
import secrets
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet
from django.conf import settings

PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
    "DJANGO_ALLOWED_HOSTS": "support.example.com",
    "DATABASE_URL": "postgres://portal@127.0.0.1:5432/portal",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "EMAIL_URL": "smtp://mail.example.com:587",
    "DEFAULT_FROM_EMAIL": "Support <support@example.com>",
    "PORTAL_BASE_URL": "https://support.example.com",
    "REMOTE_ACCESS_KEYS": Fernet.generate_key().decode(),
}
REQUIRED = [name for name in PRODUCTION_ENV if name != "DJANGO_SETTINGS_MODULE"]


def clean_environ() -> dict:
    """This process's environment without anything a deployment sets, nor the .env file's."""
    prefixes = ("DJANGO_", "DATABASE_", "REDIS_", "EMAIL_", "REMOTE_ACCESS", "PORTAL_", "DEFAULT_")
    kept = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    return {**kept, "DJANGO_READ_DOT_ENV": "false"}


def run_python(*args, env, cwd=None):
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd or settings.BASE_DIR,
        env={**clean_environ(), **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_production_settings_pass_the_deployment_checklist():
    result = run_python(
        "manage.py", "check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV
    )
    assert result.returncode == 0, result.stderr + result.stdout


@pytest.mark.parametrize("name", REQUIRED)
@pytest.mark.parametrize("value", [None, "", "   "], ids=["unset", "empty", "blank"])
def test_production_settings_refuse_to_start_without_a_required_variable(name, value):
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != name}
    if value is not None:
        env[name] = value
    result = run_python("manage.py", "check", env=env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert f"Set the {name} environment variable" in result.stderr


def test_production_settings_refuse_a_short_secret_key():
    result = run_python("manage.py", "check", env={**PRODUCTION_ENV, "DJANGO_SECRET_KEY": "short"})
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is too short" in result.stderr


@pytest.mark.parametrize("module", ["config.wsgi", "config.celery_app"])
def test_servers_default_to_the_production_settings(module):
    # gunicorn and celery started without DJANGO_SETTINGS_MODULE must not run with DEBUG on.
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "DJANGO_SETTINGS_MODULE"}
    code = f"import {module}; from django.conf import settings; print(settings.SETTINGS_MODULE)"
    result = run_python("-c", code, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-1] == "config.settings.production"


def test_manage_py_keeps_the_local_default():
    code = "from django.conf import settings; print(settings.SETTINGS_MODULE, settings.DEBUG)"
    result = run_python("manage.py", "shell", "--no-imports", "-c", code, env={})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["config.settings.local", "True"]


SHOW_DATABASE = (
    "import json; from django.conf import settings; db = settings.DATABASES['default'];"
    " print(json.dumps({k: db.get(k) for k in"
    " ('CONN_MAX_AGE', 'DISABLE_SERVER_SIDE_CURSORS', 'OPTIONS')}))"
)


def test_transaction_pooling_drops_what_outlives_a_transaction():
    # Behind PgBouncer in transaction mode: no persistent connection, no server-side cursor,
    # no prepared statement (psycopg 3 prepares none when prepare_threshold is None).
    env = {**PRODUCTION_ENV, "DATABASE_TRANSACTION_POOLING": "true", "DATABASE_CONN_MAX_AGE": "60"}
    result = run_python("manage.py", "shell", "-c", SHOW_DATABASE, env=env)
    assert result.returncode == 0, result.stderr
    database = json.loads(result.stdout.splitlines()[-1])
    assert database["CONN_MAX_AGE"] == 0
    assert database["DISABLE_SERVER_SIDE_CURSORS"] is True
    assert "prepare_threshold" in database["OPTIONS"]
    assert database["OPTIONS"]["prepare_threshold"] is None


def test_without_transaction_pooling_connections_persist_and_statements_are_prepared():
    result = run_python("manage.py", "shell", "-c", SHOW_DATABASE, env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr
    database = json.loads(result.stdout.splitlines()[-1])
    assert database["CONN_MAX_AGE"] == 60
    assert not database["DISABLE_SERVER_SIDE_CURSORS"]
    assert "prepare_threshold" not in (database["OPTIONS"] or {})


def test_transaction_pooling_passes_the_deployment_checklist():
    env = {**PRODUCTION_ENV, "DATABASE_TRANSACTION_POOLING": "true"}
    result = run_python("manage.py", "check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stderr + result.stdout


def test_beat_runs_the_exactly_once_scheduler():
    code = (
        "from config.celery_app import app; app.loader.import_default_modules();"
        " print(app.conf.beat_scheduler, app.conf.redbeat_redis_url,"
        " app.conf.redbeat_lock_timeout)"
    )
    result = run_python("-c", code, env={**PRODUCTION_ENV, "BEAT_LOCK_TIMEOUT": "45"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-3:] == [
        "core.beat:ExactlyOnceScheduler",
        PRODUCTION_ENV["REDIS_URL"],
        "45",
    ]
