from pathlib import Path

from django.conf import settings
from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandError
from django.template.defaultfilters import filesizeformat

from core.storage import StorageUnavailableError, attachments_copy_to_storage, local_files


class Command(BaseCommand):
    help = (
        "Copy the files of the local private folder (attachments, thumbnails, e-mails' "
        "originals, archives) into the bucket the default storage names (AWS_STORAGE_BUCKET_NAME)"
        ", under the same names. Files already there with the same size are skipped, so the "
        "command can be run again after an interruption, and a second run copies nothing. "
        "Local files are only read: delete them once the web processes use the bucket."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--source",
            type=Path,
            default=None,
            help="the local folder to copy from (default: PRIVATE_MEDIA_ROOT)",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="list what would be copied, write nothing",
        )
        parser.add_argument(
            "--jobs",
            type=int,
            default=4,
            help="files uploaded at once (default: 4)",
        )
        parser.add_argument(
            "--no-progress",
            action="store_true",
            help="no progress bar (it is shown when the standard error is a terminal)",
        )

    def handle(self, *args, **options):
        from tqdm import tqdm

        source = Path(options["source"] or settings.PRIVATE_MEDIA_ROOT)
        if not source.is_dir():
            raise CommandError(f"The source folder {source} does not exist.")
        dry_run = options["dry_run"]
        if options["jobs"] < 1:
            raise CommandError("--jobs must be at least 1.")
        verbosity = options["verbosity"]
        files = local_files(source)
        total = sum(local.size for local in files)
        # tqdm turns itself off (disable=None) when the standard error is not a terminal.
        disable = True if options["no_progress"] or verbosity == 0 else None
        with tqdm(
            total=total, unit="B", unit_scale=True, unit_divisor=1024, disable=disable
        ) as bar:

            def on_file(local, copied):
                bar.update(local.size)
                if copied and (dry_run or verbosity >= 2):
                    with bar.external_write_mode():
                        self.stdout.write(f"{'would copy' if dry_run else 'copied'} {local.name}")

            try:
                result = attachments_copy_to_storage(
                    files=files,
                    storage=default_storage,
                    dry_run=dry_run,
                    jobs=options["jobs"],
                    on_file=on_file,
                )
            except StorageUnavailableError as exc:
                raise CommandError(str(exc)) from exc
        size = filesizeformat(result.copied_bytes)
        if dry_run:
            self.stdout.write(
                f"Dry run: {result.copied} files ({size}) would be copied, "
                f"{result.skipped} are already in the bucket; nothing was written."
            )
        else:
            self.stdout.write(
                f"{result.copied} files ({size}) copied, {result.skipped} already in the bucket."
            )
