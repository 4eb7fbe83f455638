"""Customers' replies by e-mail: the support mailbox read over IMAP, each message kept, the
replies that belong to a ticket added to it through the same service as the portal's form."""
