#!/bin/sh
# The nginx image's entrypoint (the tests start nginx through it too): render the configuration
# from the environment, then run nginx in the foreground (the configuration says `daemon off`) as
# the container's main process. Arguments go to nginx.
set -eu
conf_dir=${NGINX_CONF_DIR:-/etc/nginx/portal}
"$(dirname "$0")/render.sh" "$conf_dir"
exec nginx -c "$conf_dir/nginx.conf" "$@"
