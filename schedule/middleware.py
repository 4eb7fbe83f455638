from schedule.gate import service_status


class MaintenanceMiddleware:
    """Answer 503 on the portal during extraordinary maintenance; the admin stays reachable."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.service_status = service_status()
        return self.get_response(request)
