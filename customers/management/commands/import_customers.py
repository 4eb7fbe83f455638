from django.core.management.base import BaseCommand, CommandError

from customers.imports import BATCH_SIZE, ImportReport, customers_import_csv


class Command(BaseCommand):
    help = (
        "Import customers and their units from the Databank's CSV export. Columns: code, company, "
        "email, and optionally contact_name, language, country, phone, product, serial_number "
        "(one row per unit). UTF-8 (with or without BOM) or Windows-1252, separated by commas, "
        "semicolons or tabs, as Excel saves it. Safe to run again: existing rows are updated, "
        "not duplicated. A customer code given twice with different details refuses the file."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="CSV file with a header row")
        parser.add_argument(
            "--batch-size",
            type=int,
            default=BATCH_SIZE,
            help=f"customers written per batch (default {BATCH_SIZE})",
        )

    def handle(self, *args, path, batch_size, **options):
        try:
            with open(path, "rb") as stream:
                content = stream.read()
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc}") from exc
        self.last_step = -1
        report = customers_import_csv(
            content=content, progress=self.show_progress, batch_size=max(batch_size, 1)
        )
        if report.refused:
            for line, message in report.errors:
                self.stderr.write(f"line {line}: {message}")
            raise CommandError(f"{path}: {report.refused} Nothing was imported.")
        self.stdout.write(
            f"customers created: {report.customers_created}, "
            f"updated: {report.customers_updated}, units created: {report.units_created}, "
            f"rows unchanged: {report.rows_unchanged}, rows refused: {len(report.errors)}"
        )
        for line, message in report.errors:
            self.stderr.write(f"line {line}: {message}")
        if report.errors:
            raise CommandError(f"{len(report.errors)} row(s) refused; the others were imported.")

    def show_progress(self, report: ImportReport) -> None:
        """Say how the file was read, then a line at each tenth of the rows written."""
        total = report.rows_total
        if self.last_step < 0:
            self.stdout.write(
                f"Read as {report.encoding}, columns separated by {report.separator_name}: "
                f"{total:,} rows."
            )
            self.last_step = 0
            return
        step = 10 if not total else report.rows_done * 10 // total
        if step > self.last_step:
            self.last_step = step
            percent = 100 if not total else report.rows_done * 100 // total
            self.stdout.write(f"  {report.rows_done:,} / {total:,} rows ({percent}%)")
