#!/bin/bash
# Exit 0 when nginx answers its own health location (not gunicorn's: the web service has its own
# check). bash's /dev/tcp, because the slim image has no HTTP client.
set -eu
listen=${NGINX_LISTEN:-80}
port=${listen##*:}
host=127.0.0.1
case $listen in
    *.*:*) host=${listen%:*} ;;
esac
exec 3<>"/dev/tcp/$host/$port"
printf 'GET /_proxy/health HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3
IFS= read -r -t 5 status <&3
case $status in
    "HTTP/1.1 200"*) exit 0 ;;
    *) echo "nginx answered: ${status:-nothing}" >&2; exit 1 ;;
esac
