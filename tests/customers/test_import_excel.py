"""The Databank import takes files as an Italian manager's Excel saves them, and says why not."""

import codecs
import io

import pytest
from django.core.management import CommandError, call_command

from customers.imports import customers_import_csv
from customers.models import Customer, Unit, User
from tests.customers.factories import CustomerFactory
from tests.products.factories import ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def kess(db):
    return ProductFactory(code="kess-master", name="KESSv2 Master")


def run(tmp_path, content: bytes, *args):
    path = tmp_path / "export.csv"
    path.write_bytes(content)
    out, err = io.StringIO(), io.StringIO()
    error = None
    try:
        call_command("import_customers", str(path), *args, stdout=out, stderr=err)
    except CommandError as exc:
        error = exc
    return out.getvalue(), err.getvalue(), error


ITALIAN = (
    "code;company;email;contact_name;country;product;serial_number\r\n"
    "C1;Officina Niccolò;c1@example.com;Niccolò Rossi;IT;kess-master;KS1\r\n"
    "C2;Autofficina €uro;c2@example.com;;IT;;\r\n"
    ";;;;;;\r\n"  # Excel's trailing empty row
)


@pytest.mark.parametrize(
    ("content", "encoding"),
    [
        pytest.param(ITALIAN.encode("cp1252"), "Windows-1252", id="windows-1252"),
        pytest.param(codecs.BOM_UTF8 + ITALIAN.encode(), "UTF-8 with BOM", id="utf-8 with BOM"),
        pytest.param(ITALIAN.encode(), "UTF-8", id="utf-8"),
        pytest.param(ITALIAN.encode("utf-16"), "UTF-16", id="utf-16"),
    ],
)
def test_semicolons_in_any_encoding_excel_writes_are_imported(tmp_path, kess, content, encoding):
    out, err, error = run(tmp_path, content)
    assert error is None, err
    assert f"Read as {encoding}, columns separated by semicolons: 2 rows." in out
    assert "customers created: 2" in out
    assert "units created: 1" in out
    assert Customer.objects.get(code="C1").company == "Officina Niccolò"
    assert Customer.objects.get(code="C1").contact_name == "Niccolò Rossi"
    assert Customer.objects.get(code="C2").company == "Autofficina €uro"


def test_tabs_and_a_sep_line_are_understood_and_lines_keep_their_numbers(tmp_path, kess):
    tabs = "code\tcompany\temail\nC1\tShop\tc1@example.com\n"
    out, _err, error = run(tmp_path, tabs.encode())
    assert error is None
    assert "separated by tabs" in out
    sep = "sep=,\ncode,company,email\nC2,Shop,c2@example.com\nC3,Shop,not-an-address\n"
    out, err, error = run(tmp_path, sep.encode())
    assert "line 4: email: Enter a valid e-mail address." in err  # the real line of the file
    assert sorted(Customer.objects.values_list("code", flat=True)) == ["C1", "C2"]


def test_an_unknown_separator_says_exactly_what_the_header_holds(tmp_path):
    _out, err, error = run(tmp_path, b"code|company|email\nC1|Shop|c1@example.com\n")
    assert error is not None
    assert "Nothing was imported" in str(error)
    assert "Missing columns: code, company, email." in err
    assert "“code|company|email”" in err
    assert not Customer.objects.exists()


def test_an_excel_workbook_is_refused_with_what_to_do(tmp_path):
    _out, _err, error = run(tmp_path, b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 40)
    assert "This is an Excel workbook (.xlsx), not a CSV file" in str(error)


HEADER = "code,company,email,product,serial_number\n"


def test_a_code_given_twice_with_other_details_refuses_the_file_by_line(tmp_path, kess):
    text = HEADER + (
        "C1,Officina Rossi,c1@example.com,kess-master,KS1\n"  # line 2
        "C2,Garage Dupont,c2@example.com,,\n"  # line 3
        "C1,Officina Bianchi,c1@example.com,kess-master,KS2\n"  # line 4
        "C2,Garage Dupont,dupont@example.com,,\n"  # line 5
    )
    out, err, error = run(tmp_path, text.encode())
    assert error is not None
    assert "Nothing was imported" in str(error)
    assert (
        "line 4: Customer code C1 is also on line 2 with another company: "
        "“Officina Bianchi” here, “Officina Rossi” there."
    ) in err
    assert "line 5: Customer code C2 is also on line 3 with another e-mail" in err
    assert "customers created" not in out
    assert not Customer.objects.exists()
    assert not User.objects.exists()
    assert not Unit.objects.exists()


def test_one_serial_for_two_customers_refuses_the_file(tmp_path, kess):
    text = HEADER + "C1,A,c1@example.com,kess-master,KS1\nC2,B,c2@example.com,kess-master,ks1\n"
    _out, err, error = run(tmp_path, text.encode())
    assert error is not None
    assert "line 3: Serial number KS1 of KESSv2 Master is also on line 2, for customer C1." in err
    assert not Customer.objects.exists()


def test_a_code_on_several_lines_with_the_same_details_is_one_customer_with_its_units(
    tmp_path, kess
):
    text = HEADER + (
        "C1,Officina Rossi,c1@example.com,kess-master,KS1\n"
        "c1,,C1@EXAMPLE.COM,kess-master,KS2\n"  # empty: not given; case does not matter
        "C1,Officina Rossi,c1@example.com,kess-master,KS2\n"  # the same unit again
    )
    out, err, error = run(tmp_path, text.encode())
    assert error is None, err
    assert "customers created: 1, updated: 0, units created: 2, rows unchanged: 1" in out
    assert sorted(Unit.objects.values_list("serial_number", flat=True)) == ["KS1", "KS2"]


def test_two_codes_with_one_email_refuse_the_second_only(tmp_path):
    text = "code,company,email\nC1,A,same@example.com\nC2,B,SAME@example.com\nC3,C,c3@x.com\n"
    _out, err, error = run(tmp_path, text.encode())
    assert error is not None  # one row refused, the others imported
    assert "line 3: email: A user with this e-mail address already exists." in err
    assert sorted(Customer.objects.values_list("code", flat=True)) == ["C1", "C3"]


def test_progress_lines_as_the_batches_are_written(tmp_path, kess):
    rows = "".join(f"P{n:04d},Shop {n},p{n}@example.com,kess-master,S{n:05d}\n" for n in range(250))
    out, err, error = run(tmp_path, (HEADER + rows).encode(), "--batch-size", "50")
    assert error is None, err
    lines = out.splitlines()
    assert lines[0] == "Read as UTF-8, columns separated by commas: 250 rows."
    assert lines[1:6] == [
        f"  {done} / 250 rows ({done * 100 // 250}%)" for done in (50, 100, 150, 200, 250)
    ]
    assert Customer.objects.count() == 250
    assert Unit.objects.count() == 250


def test_the_number_of_queries_does_not_grow_with_the_rows(django_assert_max_num_queries, kess):
    def content(start, count):
        rows = "".join(
            f"Q{n:05d},Shop {n},q{n}@example.com,kess-master,Q{n:05d}\n"
            for n in range(start, start + count)
        )
        return (HEADER + rows).encode()

    # Existing customers to update and units to keep, new ones to create, in one file. A few
    # queries per batch of 1,000 rows (SQLite splits inserts by its 999 parameters): 40 at most
    # for 600 or 1,200 rows, where one query per row would be 600 or more.
    CustomerFactory(code="Q00000", company="Old name")
    with django_assert_max_num_queries(40):
        report = customers_import_csv(content=content(0, 600), batch_size=1000)
    assert (report.customers_created, report.customers_updated, report.units_created) == (
        599,
        1,
        600,
    )
    with django_assert_max_num_queries(40):
        report = customers_import_csv(content=content(0, 1200), batch_size=1000)
    assert (report.customers_created, report.rows_unchanged) == (600, 600)
    assert Customer.objects.get(code="Q00000").company == "Shop 0"


def test_bad_rows_are_refused_alone_and_nothing_of_theirs_is_written(kess):
    owner = CustomerFactory(code="OWNER")
    Unit.objects.create(customer=owner, product=kess, serial_number="TAKEN")
    text = HEADER + (
        "N1,New,n1@example.com,kess-master,TAKEN\n"  # the unit is someone else's
        "N2,New 2,n2@example.com,kess-master,FREE\n"
        "N3,New 3,n3@example.com,no-such-tool,X\n"
    )
    report = customers_import_csv(content=text.encode())
    assert not report.refused
    assert [line for line, _message in report.errors] == [2, 4]
    assert sorted(Customer.objects.values_list("code", flat=True)) == ["N2", "OWNER"]
    assert not User.objects.filter(username__in=["N1", "N3"]).exists()
    assert Unit.objects.get(serial_number="TAKEN").customer == owner
    assert report.rows_done == report.rows_total == 3
