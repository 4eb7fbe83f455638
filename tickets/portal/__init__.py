"""The customers' side of the portal: their tickets, the new-ticket form, replies, files."""
