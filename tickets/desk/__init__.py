"""The operators' desk: the first-come-first-served queue, take-next and the staff ticket page."""
