"""The portal's production settings, plus one trivial page for bench/side_by_side.py.

Nothing else changes: the same middleware, apps, cache and database settings as production; only
the URLconf adds /bench/trivial/ in front of the portal's own.
"""

from config.settings.production import *  # noqa: F403

ROOT_URLCONF = "bench.portal_urls"
