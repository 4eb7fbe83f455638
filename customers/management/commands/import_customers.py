from django.core.management.base import BaseCommand, CommandError

from customers.services import customers_import_csv


class Command(BaseCommand):
    help = (
        "Import customers and their units from the Databank's CSV export. Columns: code, company, "
        "email, and optionally contact_name, language, country, phone, product, serial_number "
        "(one row per unit). Safe to run again: existing rows are updated, not duplicated."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="CSV file, UTF-8, comma separated, with a header row")

    def handle(self, *args, path, **options):
        try:
            with open(path, newline="", encoding="utf-8-sig") as stream:
                report = customers_import_csv(stream=stream)
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc}") from exc
        except UnicodeDecodeError as exc:
            raise CommandError(f"{path} is not UTF-8: {exc}") from exc
        self.stdout.write(
            f"customers created: {report.customers_created}, "
            f"updated: {report.customers_updated}, units created: {report.units_created}, "
            f"rows unchanged: {report.rows_unchanged}, rows refused: {len(report.errors)}"
        )
        for line, message in report.errors:
            self.stderr.write(f"line {line}: {message}")
        if report.errors:
            raise CommandError(f"{len(report.errors)} row(s) refused; the others were imported.")
