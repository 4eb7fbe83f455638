from schedule.selectors import notice_list_active


def notices(request):
    """Expose the active service notices to every portal page, from the cached calendar."""
    status = getattr(request, "service_status", None)
    return {"notices": notice_list_active(at=status.at if status else None)}
