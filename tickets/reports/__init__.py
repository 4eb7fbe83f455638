"""The managers' reports: the service-level dashboard, its charts and its CSV export."""
