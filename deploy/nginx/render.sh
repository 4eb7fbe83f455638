#!/bin/sh
# Render the portal's nginx configuration and its error pages from the environment.
#
#   render.sh OUTPUT_DIR    writes OUTPUT_DIR/nginx.conf and OUTPUT_DIR/errors/*.html
#
# The image's entrypoint runs it before nginx starts; the tests under tests/production/ run it
# with their own ports and paths. Every value is checked before anything is written, and each
# file is written whole (to a temporary name, then renamed), so a bad value leaves the previous
# configuration as it was. Variables (defaults in brackets):
#
#   ATTACHMENT_MAX_SIZE_MB [20], ATTACHMENT_MAX_COUNT [10]
#                            the same variables the Django settings read; the body size limit
#                            is derived from them (see below)
#   NGINX_LISTEN [80]        address:port or port nginx listens on
#   NGINX_UPSTREAM [web:8000]  gunicorn's host:port, or several separated by commas (web-1:8000,
#                            web-2:8000): nginx spreads the requests over them (round robin)
#                            and leaves one that refuses connections alone for a while
#   NGINX_CLIENT_TIMEOUT [15]  seconds a client may stay silent while sending or receiving
#   NGINX_BEHIND_TLS_PROXY [false]  true when a TLS-terminating proxy stands in front of nginx:
#                            its X-Forwarded-Proto is passed on (and set AXES_PROXY_COUNT=2);
#                            false: nginx is the edge and sends its own scheme
#   NGINX_USER [www-data]    user of the worker processes (ignored unless started as root)
#   NGINX_WORKER_PROCESSES [auto]
#   NGINX_STATE_DIR [/var/lib/nginx/portal]  pid file and request/response temporary files
#   NGINX_ACCESS_LOG [/dev/stdout], NGINX_ERROR_LOG [stderr]
set -eu

here=$(cd "$(dirname "$0")" && pwd)

fail() {
    echo "render.sh: $*" >&2
    exit 2
}

# A whole number of at least 1, read as decimal (the shell would take 020 for octal).
count() {
    case $2 in
        '' | *[!0-9]*) fail "$1 must be a whole number, not '$2'" ;;
    esac
    value=$(echo "$2" | sed 's/^0*//')
    [ -n "$value" ] || fail "$1 must be at least 1, not '$2'"
    echo "$value"
}

[ $# -eq 1 ] || fail "usage: render.sh OUTPUT_DIR"
command -v envsubst >/dev/null || fail "envsubst is missing (Debian package gettext-base)"

ATTACHMENT_MAX_SIZE_MB=$(count ATTACHMENT_MAX_SIZE_MB "${ATTACHMENT_MAX_SIZE_MB:-20}")
ATTACHMENT_MAX_COUNT=$(count ATTACHMENT_MAX_COUNT "${ATTACHMENT_MAX_COUNT:-10}")
NGINX_CLIENT_TIMEOUT=$(count NGINX_CLIENT_TIMEOUT "${NGINX_CLIENT_TIMEOUT:-15}")
NGINX_LISTEN=${NGINX_LISTEN:-80}
NGINX_UPSTREAM=${NGINX_UPSTREAM:-web:8000}
NGINX_USER=${NGINX_USER:-www-data}
NGINX_WORKER_PROCESSES=${NGINX_WORKER_PROCESSES:-auto}
NGINX_STATE_DIR=${NGINX_STATE_DIR:-/var/lib/nginx/portal}
NGINX_ACCESS_LOG=${NGINX_ACCESS_LOG:-/dev/stdout}
NGINX_ERROR_LOG=${NGINX_ERROR_LOG:-stderr}

for name in NGINX_LISTEN NGINX_UPSTREAM NGINX_USER NGINX_WORKER_PROCESSES NGINX_STATE_DIR \
    NGINX_ACCESS_LOG NGINX_ERROR_LOG; do
    eval "value=\$$name"
    case $value in
        *[\ \;\{\}\$\'\"]* | *"$(printf '\t')"*) fail "$name must be one word without ; { } \$ or quotes, not '$value'" ;;
    esac
done
# One `server` line per gunicorn of the comma-separated list.
NGINX_UPSTREAM_SERVERS=""
for server in $(echo "$NGINX_UPSTREAM" | tr ',' ' '); do
    NGINX_UPSTREAM_SERVERS="${NGINX_UPSTREAM_SERVERS}server $server max_fails=1 fail_timeout=10s;
        "
done
[ -n "$NGINX_UPSTREAM_SERVERS" ] || fail "NGINX_UPSTREAM must name at least one host:port, not '$NGINX_UPSTREAM'"
case $NGINX_STATE_DIR in
    /*) ;;
    *) fail "NGINX_STATE_DIR must be an absolute path, not '$NGINX_STATE_DIR'" ;;
esac

case $(echo "${NGINX_BEHIND_TLS_PROXY:-false}" | tr '[:upper:]' '[:lower:]') in
    true | 1 | yes | on) NGINX_FORWARDED_PROTO='$http_x_forwarded_proto' ;;
    false | 0 | no | off) NGINX_FORWARDED_PROTO='$scheme' ;;
    *) fail "NGINX_BEHIND_TLS_PROXY must be true or false, not '$NGINX_BEHIND_TLS_PROXY'" ;;
esac

# The body size limit: a message may carry ATTACHMENT_MAX_COUNT files of ATTACHMENT_MAX_SIZE_MB
# each, and its text fields up to Django's DATA_UPLOAD_MAX_MEMORY_SIZE (5 MB); 1 MB more covers
# the multipart framing (a few hundred bytes per part). A larger body cannot be one the portal
# accepts, so nginx refuses it before storing it; anything smaller reaches Django, which explains
# precisely which file or field was refused.
FORM_ALLOWANCE_MB=6
NGINX_BODY_LIMIT_MB=$((ATTACHMENT_MAX_SIZE_MB * ATTACHMENT_MAX_COUNT + FORM_ALLOWANCE_MB))
NGINX_CLIENT_MAX_BODY_SIZE="${NGINX_BODY_LIMIT_MB}m"

mkdir -p "$1" "$NGINX_STATE_DIR"
out=$(cd "$1" && pwd)
NGINX_ERROR_PAGES="$out/errors"

export ATTACHMENT_MAX_SIZE_MB ATTACHMENT_MAX_COUNT NGINX_BODY_LIMIT_MB NGINX_CLIENT_MAX_BODY_SIZE \
    NGINX_LISTEN NGINX_UPSTREAM NGINX_UPSTREAM_SERVERS NGINX_USER NGINX_WORKER_PROCESSES \
    NGINX_STATE_DIR NGINX_ACCESS_LOG NGINX_ERROR_LOG NGINX_CLIENT_TIMEOUT NGINX_FORWARDED_PROTO \
    NGINX_ERROR_PAGES

# Only these are substituted: nginx's own $variables pass through untouched.
variables='${ATTACHMENT_MAX_SIZE_MB} ${ATTACHMENT_MAX_COUNT} ${NGINX_BODY_LIMIT_MB}
${NGINX_CLIENT_MAX_BODY_SIZE} ${NGINX_LISTEN} ${NGINX_UPSTREAM_SERVERS} ${NGINX_USER}
${NGINX_WORKER_PROCESSES} ${NGINX_STATE_DIR} ${NGINX_ACCESS_LOG} ${NGINX_ERROR_LOG}
${NGINX_CLIENT_TIMEOUT} ${NGINX_FORWARDED_PROTO} ${NGINX_ERROR_PAGES}'

staging=$(mktemp -d "$out/.render.XXXXXX")
trap 'rm -rf "$staging"' EXIT
mkdir "$staging/errors"
envsubst "$variables" <"$here/portal.conf.template" >"$staging/nginx.conf"
for page in "$here"/errors/*.html.template; do
    name=$(basename "$page" .template)
    envsubst "$variables" <"$page" >"$staging/errors/$name"
done
chmod 755 "$staging/errors"
chmod 644 "$staging/nginx.conf" "$staging"/errors/*.html

rm -rf "$out/errors.old"
[ ! -d "$out/errors" ] || mv "$out/errors" "$out/errors.old"
mv "$staging/errors" "$out/errors"
mv "$staging/nginx.conf" "$out/nginx.conf"
rm -rf "$out/errors.old"
echo "render.sh: wrote $out/nginx.conf (client_max_body_size $NGINX_CLIENT_MAX_BODY_SIZE)" >&2
