def notices(request):
    """Expose the active service notices to every portal page (filled in by the calendar)."""
    return {"notices": []}
