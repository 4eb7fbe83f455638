"""French: Django's formats, but an instant in figures, like every other page."""

DATETIME_FORMAT = "d/m/Y H:i"  # 27/11/2026 14:30
