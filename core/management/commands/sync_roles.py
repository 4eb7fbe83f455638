from django.core.management.base import BaseCommand

from core.roles import roles_sync


class Command(BaseCommand):
    help = "Give the Operators and Managers groups exactly the permissions core.roles lists."

    def handle(self, *args, **options):
        for group, count in roles_sync().items():
            self.stdout.write(f"{group}: {count} permissions")
