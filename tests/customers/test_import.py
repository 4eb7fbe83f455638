import io

import pytest
from django.core.management import CommandError, call_command

from customers.models import Customer, Unit, User
from tests.customers.factories import CustomerFactory, UnitFactory
from tests.products.factories import DatabankFactory, ProductFactory

pytestmark = pytest.mark.django_db

HEADER = "code,company,email,contact_name,language,country,phone,product,serial_number\n"


@pytest.fixture
def kess(db):
    return ProductFactory(code="kess-master", name="KESSv2 Master")


def run(tmp_path, text, name="export.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    error = None
    try:
        call_command("import_customers", str(path), stdout=out, stderr=err)
    except CommandError as exc:
        error = exc
    return out.getvalue(), err.getvalue(), error


def snapshot():
    return (
        sorted(
            Customer.objects.values_list(
                "code", "company", "contact_name", "language", "country", "phone", "user__email"
            )
        ),
        sorted(Unit.objects.values_list("customer__code", "product__code", "serial_number")),
    )


def test_creates_customers_and_units_and_is_idempotent(tmp_path, kess):
    DatabankFactory()
    text = HEADER + (
        "c100,Officina Rossi,Rossi@Example.com,Mario Rossi,it,it,055 1,kess-master,ks-1\n"
        "C100,Officina Rossi,rossi@example.com,Mario Rossi,it,IT,055 1,KESSv2 Master,KS-2\n"
        "C200,Garage Dupont,dupont@example.fr,Jean Dupont,fr,FR,,databank-test,\n"
    )
    out, err, error = run(tmp_path, text)
    assert error is None, err
    assert "customers created: 2" in out
    assert "units created: 2" in out
    rossi = Customer.objects.get(code="C100")
    assert (rossi.company, rossi.user.email, rossi.language, rossi.country) == (
        "Officina Rossi",
        "rossi@example.com",
        "it",
        "IT",
    )
    assert not rossi.user.has_usable_password()
    assert sorted(rossi.units.values_list("serial_number", flat=True)) == ["KS-1", "KS-2"]
    assert Customer.objects.get(code="C200").units.count() == 0

    before = snapshot()
    out, err, error = run(tmp_path, text)
    assert error is None
    assert "customers created: 0, updated: 0, units created: 0, rows unchanged: 3" in out
    assert snapshot() == before
    assert User.objects.count() == 2


def test_updates_changed_fields(tmp_path, kess):
    run(tmp_path, HEADER + "C1,Old name,old@example.com,Anna,it,IT,1,kess-master,S1\n")
    out, err, error = run(
        tmp_path, HEADER + "C1,New name,new@example.com,Anna B,en,IT,2,kess-master,S1\n"
    )
    assert error is None, err
    assert "updated: 1" in out
    customer = Customer.objects.get(code="C1")
    assert (customer.company, customer.contact_name, customer.language, customer.phone) == (
        "New name",
        "Anna B",
        "en",
        "2",
    )
    assert customer.user.email == "new@example.com"
    assert Unit.objects.count() == 1


def test_does_not_override_the_language_the_customer_chose(tmp_path, kess):
    text = "code,company,email\nC1,Shop,c1@example.com\n"
    run(tmp_path, text)
    customer = Customer.objects.get(code="C1")
    customer.language = "fr"
    customer.save()
    out, _err, _error = run(tmp_path, text)
    assert "rows unchanged: 1" in out
    customer.refresh_from_db()
    assert customer.language == "fr"


def test_bad_rows_are_reported_by_line_and_the_others_imported(tmp_path, kess):
    text = HEADER + (
        "C1,Good,good@example.com,,it,IT,,kess-master,S1\n"  # line 2
        ",No code,nocode@example.com,,it,IT,,,\n"  # line 3
        "C3,Bad mail,not-an-address,,it,IT,,,\n"  # line 4
        "C4,Bad product,c4@example.com,,it,IT,,no-such-tool,S4\n"  # line 5
        "C5,No serial,c5@example.com,,it,IT,,kess-master,\n"  # line 6
        "C6,Bad language,c6@example.com,,de,IT,,,\n"  # line 7
        "C7,Same mail,GOOD@example.com,,it,IT,,,\n"  # line 8
        "C8,Also good,c8@example.com,,en,FR,,,\n"  # line 9
    )
    out, err, error = run(tmp_path, text)
    assert isinstance(error, CommandError)
    assert "6 row(s) refused" in str(error)
    for line in (3, 4, 5, 6, 7, 8):
        assert f"line {line}:" in err
    assert "line 2:" not in err
    assert "line 9:" not in err
    assert "code" in err.split("line 3:")[1].splitlines()[0]
    assert "Unknown product" in err
    assert "serial number is empty" in err
    assert "already exists" in err
    assert sorted(Customer.objects.values_list("code", flat=True)) == ["C1", "C8"]
    assert "customers created: 2" in out
    assert "rows refused: 6" in out


def test_a_row_whose_unit_belongs_to_someone_else_leaves_nothing_behind(tmp_path, kess):
    owner = CustomerFactory(code="OWNER")
    UnitFactory(customer=owner, product=kess, serial_number="S1")
    out, err, error = run(
        tmp_path, HEADER + "NEW1,New shop,new1@example.com,,it,IT,,kess-master,s1\n"
    )
    assert error is not None
    assert "line 2:" in err
    assert "belongs to another customer" in err
    assert not Customer.objects.filter(code="NEW1").exists()
    assert not User.objects.filter(email="new1@example.com").exists()
    assert "customers created: 0" in out
    assert Unit.objects.get(serial_number="S1").customer == owner


def test_missing_columns_and_unreadable_files(tmp_path):
    _out, err, error = run(tmp_path, "code,company\nC1,Shop\n")
    assert error is not None
    assert "line 1: Missing columns: email" in err
    assert not Customer.objects.exists()
    # Neither UTF-8 nor Windows-1252 (0x81 is no character in either): refused, with where.
    path = tmp_path / "garbled.csv"
    path.write_bytes(b"code,company,email\nC1,Caf\x81,c@example.com\n")
    with pytest.raises(CommandError, match="cannot be read as UTF-8 / Windows-1252: byte 0x81"):
        call_command("import_customers", str(path), stdout=io.StringIO())
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_customers", str(tmp_path / "missing.csv"), stdout=io.StringIO())
    assert not Customer.objects.exists()


def test_utf8_bom_and_accents(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufeffcode,company,email\nC1,Officina Niccolò,c1@example.com\n".encode())
    call_command("import_customers", str(path), stdout=io.StringIO())
    assert Customer.objects.get(code="C1").company == "Officina Niccolò"
