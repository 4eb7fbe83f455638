from django.core.management.base import BaseCommand

from tickets.remote.services import remote_access_keys_rotate


class Command(BaseCommand):
    help = (
        "Re-encrypt the stored TeamViewer credentials with the first key of REMOTE_ACCESS_KEYS. "
        "Put the new key first, run this, then drop the old keys."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, batch_size, **options):
        changed = remote_access_keys_rotate(batch_size=batch_size)
        self.stdout.write(f"Re-encrypted the credentials of {changed} remote-access requests.")
