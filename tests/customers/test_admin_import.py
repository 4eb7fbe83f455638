"""Managers import the Databank's CSV in the admin: upload with progress, import by a worker."""

import json

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from customers.imports import PROGRESS_KEY, customer_import_run
from customers.models import Customer, CustomerImport, Unit
from tests.products.factories import ProductFactory

pytestmark = pytest.mark.django_db

IMPORT = reverse("admin:customers_customer_import")
ITALIAN_EXCEL = (
    "code;company;email;country;product;serial_number\r\n"
    "C1;Officina Niccolò;c1@example.com;IT;kess-master;KS1\r\n"
    "C2;Garage Dupont;c2@example.com;FR;;\r\n"
    "C3;Bad mail;not-an-address;IT;;\r\n"
).encode("cp1252")


@pytest.fixture
def kess(db):
    return ProductFactory(code="kess-master", name="KESSv2 Master")


def upload(client, content, django_capture_on_commit_callbacks, **headers):
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(IMPORT, {"file": SimpleUploadedFile("export.csv", content)}, **headers)


def test_the_customer_list_offers_the_import_to_managers_only(client, manager, operator):
    url = reverse("admin:customers_customer_changelist")
    client.force_login(operator)
    assert f'href="{IMPORT}"' not in client.get(url).content.decode()
    assert client.get(IMPORT).status_code == 403
    client.force_login(manager)
    assert f'href="{IMPORT}"' in client.get(url).content.decode()
    page = client.get(IMPORT).content.decode()
    assert 'enctype="multipart/form-data"' in page
    assert "data-import-upload" in page
    assert "customers/import.js" in page


def test_an_italian_excel_file_is_imported_and_its_report_shown(
    manager_client, kess, django_capture_on_commit_callbacks, private_media
):
    response = upload(manager_client, ITALIAN_EXCEL, django_capture_on_commit_callbacks)
    customer_import = CustomerImport.objects.get()
    status_url = reverse("admin:customers_customer_import_status", args=[customer_import.pk])
    assert response.status_code == 302
    assert response["Location"] == status_url
    assert customer_import.status == CustomerImport.Status.DONE
    assert sorted(Customer.objects.values_list("code", flat=True)) == ["C1", "C2"]
    assert Unit.objects.get().serial_number == "KS1"
    # The upload's personal data do not stay on disk once imported; the report does.
    assert not customer_import.file
    assert not list(private_media.rglob("*.csv"))

    page = manager_client.get(status_url).content.decode()
    assert "Read as Windows-1252, columns separated by semicolons." in page
    assert "Imported: 3 rows read." in page
    assert '<th scope="row">Customers created</th><td>2</td>' in page
    assert "<td>4</td><td>email: Enter a valid e-mail address.</td>" in page
    assert "data-import-progress" not in page  # finished: no bar, no polling
    assert "export.csv" in manager_client.get(IMPORT).content.decode()  # recent imports


def test_the_upload_script_is_told_where_to_go(
    manager_client, kess, django_capture_on_commit_callbacks
):
    response = upload(
        manager_client,
        ITALIAN_EXCEL,
        django_capture_on_commit_callbacks,
        HTTP_X_REQUESTED_WITH="XMLHttpRequest",
    )
    customer_import = CustomerImport.objects.get()
    assert response.json() == {
        "redirect": reverse("admin:customers_customer_import_status", args=[customer_import.pk])
    }


def test_a_refused_file_writes_nothing_and_lists_the_lines_to_correct(
    manager_client, django_capture_on_commit_callbacks
):
    content = b"code,company,email\nC1,A,a@example.com\nC1,B,a@example.com\n"
    upload(manager_client, content, django_capture_on_commit_callbacks)
    customer_import = CustomerImport.objects.get()
    assert customer_import.status == CustomerImport.Status.REFUSED
    assert not Customer.objects.exists()
    page = manager_client.get(
        reverse("admin:customers_customer_import_status", args=[customer_import.pk])
    ).content.decode()
    assert "Nothing was imported." in page
    assert "Lines to correct" in page
    assert "Customer code C1 is also on line 2 with another company" in page


def test_no_file_is_asked_for_again(manager_client):
    response = manager_client.post(IMPORT, {})
    assert response.status_code == 400
    assert not CustomerImport.objects.exists()


def test_while_it_runs_the_page_shows_a_bar_fed_by_the_progress_address(manager, manager_client):
    customer_import = CustomerImport.objects.create(
        original_name="big.csv", uploaded_by=manager, status=CustomerImport.Status.RUNNING
    )
    cache.set(PROGRESS_KEY.format(pk=customer_import.pk), {"done": 12000, "total": 50000})
    progress_url = reverse("admin:customers_customer_import_progress", args=[customer_import.pk])
    page = manager_client.get(
        reverse("admin:customers_customer_import_status", args=[customer_import.pk])
    ).content.decode()
    assert f'data-import-progress="{progress_url}"' in page
    assert '<progress max="100" value="24">' in page
    assert "12,000 of 50,000 rows" in page
    response = manager_client.get(progress_url)
    assert "no-store" in response["Cache-Control"]
    assert json.loads(response.content) == {
        "status": "running",
        "finished": False,
        "done": 12000,
        "total": 50000,
        "percent": 24,
    }


def test_a_message_delivered_twice_imports_once(manager, kess, tmp_path):
    from django.core.files.base import ContentFile

    customer_import = CustomerImport(original_name="export.csv", uploaded_by=manager)
    customer_import.file.save("x.csv", ContentFile(ITALIAN_EXCEL), save=True)
    first = customer_import_run(customer_import_id=customer_import.pk)
    again = customer_import_run(customer_import_id=customer_import.pk)
    first.refresh_from_db()
    assert first.status == again.status == CustomerImport.Status.DONE
    assert again.report == first.report
    assert again.report["customers_created"] == 2
    assert cache.get(PROGRESS_KEY.format(pk=customer_import.pk)) is None
