"""Reading the portal's forms as a browser would, to send them again."""

import re

TOKEN = re.compile(r'name="form_token" value="([0-9a-f]{32})"')


def form_token(page: str) -> str:
    """The token of the (first) form on the page: a retry sends it back with its kept files."""
    return TOKEN.search(page).group(1)


def form_tokens(page: str) -> list[str]:
    return TOKEN.findall(page)
