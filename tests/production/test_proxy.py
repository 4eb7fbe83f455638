"""The shipped nginx in front of gunicorn: slow clients, the body size limit, what it forwards.

Real processes: gunicorn on the production settings (2 sync workers), and nginx started through
deploy/nginx/entrypoint.sh as the image starts it. The timeouts passed to the clients here are
correctness bounds (an answer must come at all), not benchmarks.
"""

import subprocess

import pytest
import requests
from django.urls import reverse

from tests.notifications.live import wait_until
from tests.production.proxy import (
    DEPLOY,
    answers_within,
    render,
    stall_upload,
    still_open,
    wait_closed_by_server,
)
from tests.production.stack import PortalClient

MB = 1024 * 1024
STALLS = 10
LOGIN = reverse("customers:login")
CREATE = reverse("tickets:create")
PAGES = ("/health/", "/", LOGIN)


def upstream(gunicorn) -> str:
    return gunicorn.url.removeprefix("http://")


def csrf_cookie(base_url: str) -> str:
    """A CSRF cookie as a browser holds it: with it, Django reads a POST's body to check it."""
    token = requests.get(f"{base_url}{LOGIN}", timeout=10).cookies["csrftoken"]
    return f"csrftoken={token}"


def stall(base_url: str) -> list:
    """Ten uploads of a 50 MB attachment that stop after their first 64 KB."""
    cookie = csrf_cookie(base_url)
    return [
        stall_upload(base_url, CREATE, cookie=cookie, content_length=50 * MB) for _ in range(STALLS)
    ]


# Slow clients ----------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_ten_stalled_uploads_do_not_starve_the_site_behind_nginx(start_gunicorn, start_nginx):
    gunicorn = start_gunicorn(workers=2, args=("--access-logfile", "-"))
    nginx = start_nginx(upstream(gunicorn), NGINX_CLIENT_TIMEOUT="6")

    stalls = stall(nginx.url)
    try:
        for path in PAGES:
            response = answers_within(f"{nginx.url}{path}", timeout=5)
            assert response is not None, f"{path} did not answer while {STALLS} uploads stall"
            assert response.status_code == 200, path
        # The stalls were there all along: nginx still holds every one, and has not passed any
        # of them on (gunicorn only ever sees a complete request).
        assert all(still_open(sock) for sock in stalls)
        wait_until(
            lambda: f'"GET {LOGIN} HTTP/1.0" 200' in gunicorn.log_tail(lines=1000),
            timeout=5,
            what="gunicorn to log the pages it served",
        )
        assert '"POST ' not in gunicorn.log_tail(lines=1000)

        # Then nginx drops them, after NGINX_CLIENT_TIMEOUT seconds of silence.
        for sock in stalls:
            answer = wait_closed_by_server(sock, timeout=6 + 10)
            assert answer == b"" or answer.startswith(b"HTTP/1.1 408"), answer[:200]
    finally:
        for sock in stalls:
            sock.close()
    assert '"POST ' not in gunicorn.log_tail(lines=1000)
    assert answers_within(f"{nginx.url}/health/", timeout=5).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_the_same_stalls_straight_to_gunicorn_starve_it(start_gunicorn):
    """The control: without the proxy, the test above would fail."""
    gunicorn = start_gunicorn(workers=2)

    stalls = stall(gunicorn.url)
    try:
        assert answers_within(f"{gunicorn.url}/health/", timeout=3) is None
    finally:
        for sock in stalls:
            sock.close()
    # Once the stalled clients are gone, the workers are free again: it was the stalls.
    wait_until(
        lambda: answers_within(f"{gunicorn.url}/health/", timeout=2) is not None,
        timeout=30,
        what="gunicorn to answer once the stalled uploads are closed",
    )


# The body size limit -----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_body_over_the_limit_gets_the_portal_page_from_nginx(start_gunicorn, start_nginx):
    # A message may carry 2 files of 1 MB: the limit is 2 * 1 MB + 6 MB for the text fields.
    limits = {"ATTACHMENT_MAX_SIZE_MB": "1", "ATTACHMENT_MAX_COUNT": "2"}
    gunicorn = start_gunicorn(args=("--access-logfile", "-"), **limits)
    nginx = start_nginx(upstream(gunicorn), **limits)
    limit = 8 * MB
    client = PortalClient(nginx.url, headers={"Accept-Language": "en"})

    def post_login_with_file(size: int) -> requests.Response:
        return client.submit(
            LOGIN,
            {"username": "NOBODY", "password": "wrong"},
            files={"attachments": ("dump.bin", b"\0" * size, "application/octet-stream")},
            allow_redirects=False,
        )

    refused = post_login_with_file(limit + 1)
    assert refused.status_code == 413
    assert refused.headers["Content-Type"].startswith("text/html")
    assert "<h1>Upload too large</h1>" in refused.text
    assert "at most 2 files of up to 1 MB each (8 MB in all, text included)" in refused.text
    assert '"POST ' not in gunicorn.log_tail(lines=1000)

    # Just under the limit the request reaches Django, which answers it (here: the log-in form
    # again, as the credentials are wrong).
    answered = post_login_with_file(limit - 64 * 1024)
    assert answered.status_code == 200
    assert 'name="password"' in answered.text
    # (gunicorn writes its access log line just after the answer.)
    wait_until(
        lambda: f'"POST {LOGIN} HTTP/1.0" 200' in gunicorn.log_tail(lines=1000),
        timeout=5,
        what="gunicorn to log the POST it answered",
    )


@pytest.mark.parametrize(
    ("headers", "heading"),
    [
        ({}, "Invio troppo grande"),
        ({"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"}, "Envoi trop volumineux"),
        ({"Accept-Language": "fr", "Cookie": "django_language=en"}, "Upload too large"),
        ({"Cookie": "django_language=it"}, "Invio troppo grande"),
    ],
)
def test_the_413_page_speaks_the_visitors_language(start_nginx, headers, heading):
    # Nothing needs to listen upstream: nginx refuses before it would forward anything.
    nginx = start_nginx("127.0.0.1:9", ATTACHMENT_MAX_SIZE_MB="1", ATTACHMENT_MAX_COUNT="1")
    response = requests.post(
        f"{nginx.url}{CREATE}", data=b"\0" * (7 * MB + 1), headers=headers, timeout=30
    )
    assert response.status_code == 413
    assert f"<h1>{heading}</h1>" in response.text


def test_nginx_answers_with_the_portal_page_when_gunicorn_is_down(start_nginx):
    nginx = start_nginx("127.0.0.1:9")
    response = requests.get(f"{nginx.url}/", headers={"Accept-Language": "en"}, timeout=10)
    assert response.status_code == 502
    assert "<h1>Service temporarily unavailable</h1>" in response.text

    health = DEPLOY / "healthcheck.sh"
    env = {"PATH": "/usr/bin:/bin", "NGINX_LISTEN": f"127.0.0.1:{nginx.port}"}
    assert subprocess.run(["bash", str(health)], env=env, check=False).returncode == 0
    nginx.stop()
    assert subprocess.run(["bash", str(health)], env=env, check=False).returncode != 0


# What nginx tells gunicorn ---------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_nginx_sets_the_scheme_itself_unless_told_a_tls_proxy_stands_in_front(
    start_gunicorn, start_nginx
):
    gunicorn = start_gunicorn()
    edge = start_nginx(upstream(gunicorn))
    behind_tls = start_nginx(upstream(gunicorn), NGINX_BEHIND_TLS_PROXY="true")
    claims_https = {"X-Forwarded-Proto": "https"}

    def django_saw_https(base_url, headers) -> bool:
        # Django sends HSTS on the requests it believes came over HTTPS, and only on those.
        response = requests.get(f"{base_url}{LOGIN}", headers=headers, timeout=10)
        assert response.status_code == 200
        return "Strict-Transport-Security" in response.headers

    # Straight to gunicorn the header decides (which is why gunicorn must not be reachable) ...
    assert django_saw_https(gunicorn.url, claims_https)
    # ... but nginx at the edge replaces a client's claim with the scheme it really served.
    assert not django_saw_https(edge.url, claims_https)
    # Behind a TLS proxy, nginx passes on that proxy's header.
    assert django_saw_https(behind_tls.url, claims_https)
    assert not django_saw_https(behind_tls.url, {})


@pytest.mark.django_db(transaction=True)
def test_nginx_compresses_text_responses(start_gunicorn, start_nginx):
    gunicorn = start_gunicorn()
    nginx = start_nginx(upstream(gunicorn))
    headers = {"Accept-Encoding": "gzip"}

    direct = requests.get(f"{gunicorn.url}{LOGIN}", headers=headers, timeout=10)
    assert "Content-Encoding" not in direct.headers
    proxied = requests.get(f"{nginx.url}{LOGIN}", headers=headers, timeout=10)
    assert proxied.status_code == 200
    assert proxied.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in proxied.headers["Vary"]
    assert 'name="password"' in proxied.text


# Rendering -------------------------------------------------------------------------------------


def test_the_body_limit_is_derived_from_the_attachment_settings(tmp_path):
    rendered = render(tmp_path / "conf", {"NGINX_STATE_DIR": str(tmp_path / "state")})
    assert rendered.returncode == 0, rendered.stderr
    # The defaults: 10 files of 20 MB, plus 6 MB for the text fields.
    assert "client_max_body_size 206m;" in (tmp_path / "conf" / "nginx.conf").read_text()
    page = (tmp_path / "conf" / "errors" / "413.en.html").read_text()
    assert "at most 10 files of up to 20 MB each (206 MB in all, text included)" in page

    rendered = render(
        tmp_path / "conf",
        {
            "NGINX_STATE_DIR": str(tmp_path / "state"),
            "ATTACHMENT_MAX_SIZE_MB": "025",
            "ATTACHMENT_MAX_COUNT": "4",
        },
    )
    assert rendered.returncode == 0, rendered.stderr
    assert "client_max_body_size 106m;" in (tmp_path / "conf" / "nginx.conf").read_text()


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("ATTACHMENT_MAX_SIZE_MB", "20MB", "ATTACHMENT_MAX_SIZE_MB must be a whole number"),
        ("ATTACHMENT_MAX_SIZE_MB", "0", "ATTACHMENT_MAX_SIZE_MB must be at least 1"),
        ("ATTACHMENT_MAX_COUNT", "-3", "ATTACHMENT_MAX_COUNT must be a whole number"),
        ("NGINX_CLIENT_TIMEOUT", "15s", "NGINX_CLIENT_TIMEOUT must be a whole number"),
        ("NGINX_LISTEN", "80; include /etc/passwd", "NGINX_LISTEN must be one word"),
        ("NGINX_UPSTREAM", "web:8000 backup", "NGINX_UPSTREAM must be one word"),
        ("NGINX_BEHIND_TLS_PROXY", "maybe", "NGINX_BEHIND_TLS_PROXY must be true or false"),
        ("NGINX_STATE_DIR", "var/nginx", "NGINX_STATE_DIR must be an absolute path"),
    ],
)
def test_a_bad_value_is_named_and_leaves_the_previous_configuration(
    tmp_path, variable, value, message
):
    base = {"NGINX_STATE_DIR": str(tmp_path / "state")}
    assert render(tmp_path / "conf", base).returncode == 0
    before = sorted(p.name for p in (tmp_path / "conf").rglob("*"))
    conf_before = (tmp_path / "conf" / "nginx.conf").read_text()

    rendered = render(tmp_path / "conf", {**base, variable: value})

    assert rendered.returncode != 0
    assert message in rendered.stderr
    assert sorted(p.name for p in (tmp_path / "conf").rglob("*")) == before
    assert (tmp_path / "conf" / "nginx.conf").read_text() == conf_before
