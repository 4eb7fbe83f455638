"""The one page both servers of bench/side_by_side.py return: 20 KB of HTML, built once."""

from django.http import HttpResponse

PAGE_SIZE = 20 * 1024


def _page() -> bytes:
    head = b'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Bench</title>'
    head += b"</head><body><h1>Twenty kilobytes</h1>\n"
    tail = b"</body></html>\n"
    row = b"<p>The quick brown fox jumps over the lazy dog, then reads the ticket again.</p>\n"
    rows = (PAGE_SIZE - len(head) - len(tail)) // len(row) - 1
    padding = PAGE_SIZE - len(head) - len(tail) - rows * len(row) - len(b"<p></p>\n")
    return head + row * rows + b"<p>" + b"." * padding + b"</p>\n" + tail


PAGE = _page()
assert len(PAGE) == PAGE_SIZE


def twenty_kb(request):
    """Return the same 20 KB page, without touching the session, the user or the database."""
    return HttpResponse(PAGE, content_type="text/html; charset=utf-8")
