"""The tickets app's admin: each room registers its own ModelAdmins; importing them is enough."""

from tickets.desk import admin as desk_admin  # noqa: F401
from tickets.desk import canned as canned_admin  # noqa: F401
from tickets.desk import erasure as erasure_admin  # noqa: F401
from tickets.desk import targets as targets_admin  # noqa: F401
from tickets.inbound import admin as inbound_admin  # noqa: F401
from tickets.remote import admin as remote_admin  # noqa: F401
