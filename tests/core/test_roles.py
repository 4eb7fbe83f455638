import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command

from core.roles import MANAGERS, OPERATORS, roles_remove, roles_sync

pytestmark = pytest.mark.django_db

OPERATOR_CODENAMES = {
    "tickets.view_ticket",
    "tickets.change_ticket",
    "tickets.view_ticketevent",
    "tickets.add_ticketevent",
    "tickets.view_attachment",
    "tickets.view_inboundmail",
    "tickets.view_cannedanswer",
    "tickets.view_servicetarget",
    "customers.view_customer",
    "customers.view_unit",
    "customers.view_member",
    "customers.view_invitation",
    "products.view_product",
    "notifications.view_notification",
}
MANAGER_EXTRA = {
    "tickets.view_dashboard",
    "tickets.add_cannedanswer",
    "tickets.change_cannedanswer",
    "tickets.add_servicetarget",
    "tickets.change_servicetarget",
    "tickets.delete_servicetarget",
    "customers.add_customer",
    "customers.change_customer",
    "customers.add_unit",
    "customers.change_unit",
    "customers.change_member",
    "customers.view_staffmember",
    "customers.reset_two_factor",
    "customers.view_erasurerequest",
    "customers.change_erasurerequest",
    "products.add_product",
    "products.change_product",
    "core.add_termsversion",
    "core.change_termsversion",
    "core.view_auditentry",
}


def held(group_name: str) -> set[str]:
    group = Group.objects.get(name=group_name)
    return {
        f"{p.content_type.app_label}.{p.codename}"
        for p in group.permissions.select_related("content_type")
    }


def test_the_migration_created_both_groups():
    assert set(Group.objects.values_list("name", flat=True)) >= {OPERATORS, MANAGERS}


def test_the_migrations_alone_give_both_groups_their_whole_permissions():
    # Read before any roles_sync() of a test: what `manage.py migrate` leaves on a new database.
    migrated = {name: held(name) for name in (OPERATORS, MANAGERS)}
    assert any(name.startswith("schedule.") for name in migrated[MANAGERS])
    assert "notifications.view_notification" in migrated[MANAGERS]
    roles_sync()
    assert migrated == {name: held(name) for name in (OPERATORS, MANAGERS)}


def test_operators_hold_exactly_their_permissions():
    roles_sync()
    assert held(OPERATORS) == OPERATOR_CODENAMES


def test_managers_hold_the_operators_permissions_and_run_the_service():
    roles_sync()
    managers = held(MANAGERS)
    assert managers >= OPERATOR_CODENAMES | MANAGER_EXTRA
    extra = managers - OPERATOR_CODENAMES - MANAGER_EXTRA
    # Whatever else managers hold belongs to the calendar and the e-mail outbox.
    assert {name.split(".")[0] for name in extra} <= {"schedule", "notifications"}
    assert not any(name.startswith(("auth.", "customers.delete_")) for name in managers)
    assert "tickets.delete_ticket" not in managers
    # The audit trail is read, never written, by anybody.
    assert not any(
        name.endswith(("_logentry", "_auditentry")) for name in managers - {"core.view_auditentry"}
    )


def test_sync_removes_extra_permissions_and_is_idempotent():
    group = Group.objects.get(name=OPERATORS)
    group.permissions.add(Permission.objects.get(codename="delete_ticket"))
    first = roles_sync()
    second = roles_sync()
    assert first == second
    assert "tickets.delete_ticket" not in held(OPERATORS)


def test_sync_roles_command_recreates_removed_groups(capsys):
    roles_remove()
    assert not Group.objects.filter(name__in=[OPERATORS, MANAGERS]).exists()
    call_command("sync_roles")
    assert held(OPERATORS) == OPERATOR_CODENAMES
    assert "Managers" in capsys.readouterr().out
