"""The Docker image builds from a clean checkout with no secret, and what it built runs.

No Docker engine runs here, so the test does what `docker build` would do with the Dockerfile:
copies the build context (the checkout less .dockerignore) to a folder, runs each RUN line there
with only the Dockerfile's ENV (plus PATH to a fresh virtualenv standing for the image's Python),
then starts the result under gunicorn on the production settings with the secrets given at start.
The two system steps (apt-get, useradd) are checked rather than run, so the test does not change
the machine's packages or users.
"""

import fnmatch
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from cryptography.fernet import Fernet
from django.conf import settings
from django.db import connection

from tests.conftest import machine_redis_url, require_service
from tests.notifications.live import database_url, free_port, redis_ping, wait_until

BASE_DIR = Path(settings.BASE_DIR)
# Production variables that must never be needed, or given, at build time.
SECRETS = ("DJANGO_SECRET_KEY", "REMOTE_ACCESS_KEYS", "DATABASE_URL", "REDIS_URL", "EMAIL_URL")
SYSTEM_STEP = re.compile(r"^(apt-get |useradd )")


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """The Dockerfile's instructions as (KEYWORD, arguments), continuation lines joined."""
    joined, instructions = "", []
    for line in path.read_text().splitlines():
        if not joined and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            joined += line.rstrip()[:-1] + " "
            continue
        joined += line
        keyword, _, arguments = joined.strip().partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        joined = ""
    return instructions


def dockerfile_env(instructions) -> dict[str, str]:
    env = {}
    for keyword, arguments in instructions:
        if keyword == "ENV":
            for pair in shlex.split(arguments):
                name, _, value = pair.partition("=")
                env[name] = value
    return env


def build_context(target: Path) -> Path:
    """Copy what `COPY . .` would copy: the checkout's files less those .dockerignore names."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=BASE_DIR,
        capture_output=True,
        check=True,
    ).stdout.decode()
    ignored = [
        line.strip()
        for line in (BASE_DIR / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]

    def excluded(name: str) -> bool:
        parts = name.split("/")
        for pattern in ignored:
            bare = pattern.removeprefix("**/")
            if fnmatch.fnmatch(name, pattern) or fnmatch.fnmatch(parts[0], pattern):
                return True
            if pattern.startswith("**/") and any(fnmatch.fnmatch(p, bare) for p in parts):
                return True
        return False

    for name in filter(None, listed.split("\0")):
        source = BASE_DIR / name
        if excluded(name) or not source.is_file():
            continue
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_bytes(source.read_bytes())
    return target


def check_system_step(command: str) -> None:
    """A system step is not run here; what it provides must be what the app steps rely on."""
    if command.startswith("apt-get "):
        packages = re.findall(r"install -y --no-install-recommends ([\w\s.+-]+?)(?:&&|$)", command)
        assert packages, f"unexpected apt-get step: {command}"
        assert packages[0].split() == ["gettext"], "the image installs more than the test checks"
        assert subprocess.run(["which", "msgfmt"], capture_output=True).returncode == 0
    else:
        assert "useradd --create-home portal" in command


def test_dockerfile_needs_no_secret_at_build_time():
    instructions = dockerfile_instructions(BASE_DIR / "Dockerfile")
    build_env = dockerfile_env(instructions)
    assert build_env["DJANGO_SETTINGS_MODULE"] == "config.settings.production"
    for keyword, arguments in instructions:
        if keyword in ("RUN", "ENV", "ARG"):
            for name in SECRETS:
                assert name not in arguments, f"{keyword} {arguments} names {name}"
    assert ".env" in (BASE_DIR / ".dockerignore").read_text().split()


@pytest.mark.django_db(transaction=True)
def test_image_builds_from_the_checkout_and_serves_on_production_settings(tmp_path):
    redis_url = machine_redis_url()
    require_service(bool(redis_url) and redis_ping(redis_url), "Redis (TEST_REDIS_URL=redis://…)")
    instructions = dockerfile_instructions(BASE_DIR / "Dockerfile")
    app = build_context(tmp_path / "app")
    venv = tmp_path / "image-python"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    image_env = {
        **dockerfile_env(instructions),
        "PATH": f"{venv / 'bin'}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(tmp_path),
        # The image's own paths, moved into this test's folder.
        "STATIC_ROOT": str(app / "staticfiles"),
        "PRIVATE_MEDIA_ROOT": str(tmp_path / "private"),
    }
    # Keep pip's own configuration (index, constraints) as the machine sets it.
    image_env.update({k: v for k, v in os.environ.items() if k.startswith("PIP_INDEX")})
    workdir, ran = app, []
    for keyword, arguments in instructions:
        if keyword == "WORKDIR":
            workdir = app if arguments == "/app" else Path(arguments)
        elif keyword == "RUN":
            if SYSTEM_STEP.match(arguments):
                check_system_step(arguments)
                continue
            result = subprocess.run(
                ["bash", "-c", arguments],
                cwd=workdir,
                env=image_env,
                capture_output=True,
                text=True,
            )
            assert result.returncode == 0, f"RUN {arguments}\n{result.stdout}\n{result.stderr}"
            ran.append(arguments)
    assert any("pip install" in step for step in ran)
    assert (app / "staticfiles" / "staticfiles.json").is_file()
    assert list((app / "locale").rglob("*.mo")), "compilemessages compiled nothing"

    # Start what was built, as the image's CMD does, with the secrets given at start only.
    runtime = {
        **image_env,
        "DJANGO_SECRET_KEY": "x" * 20 + Fernet.generate_key().decode(),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DATABASE_URL": database_url(connection.settings_dict)
        if connection.vendor == "postgresql"
        else f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "REDIS_URL": redis_url,
        "EMAIL_URL": "consolemail://",
        "DEFAULT_FROM_EMAIL": "Support <support@example.com>",
        "PORTAL_BASE_URL": "https://support.example.com",
        "REMOTE_ACCESS_KEYS": Fernet.generate_key().decode(),
    }
    if connection.vendor != "postgresql":
        subprocess.run(
            ["python", "manage.py", "migrate", "--noinput"], cwd=app, env=runtime, check=True
        )
    port = free_port()
    log = (tmp_path / "gunicorn.log").open("wb")
    server = subprocess.Popen(
        ["gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        cwd=app,
        env=runtime,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:

        def answering():
            assert server.poll() is None, (tmp_path / "gunicorn.log").read_text()
            try:
                return requests.get(f"http://127.0.0.1:{port}/health/", timeout=2).ok
            except requests.RequestException:
                return False

        wait_until(answering, timeout=40, what="the built image's gunicorn")
        home = requests.get(
            f"http://127.0.0.1:{port}/", headers={"X-Forwarded-Proto": "https"}, timeout=10
        )
        assert home.status_code == 200
        stylesheet = re.search(r'href="(/static/css/portal\.[0-9a-f]+\.css)"', home.text)
        assert stylesheet, "the page does not link the hashed stylesheet collectstatic wrote"
        asset = requests.get(f"http://127.0.0.1:{port}{stylesheet.group(1)}", timeout=10)
        assert asset.status_code == 200
        assert "immutable" in asset.headers.get("Cache-Control", "")
    finally:
        server.terminate()
        server.wait(timeout=15)
        log.close()
