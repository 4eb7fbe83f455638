import io
import os
import shutil

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from PIL import Image

from tests.core.factories import TermsVersionFactory
from tests.customers.factories import CustomerFactory, UnitFactory

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_service(available: bool, what: str) -> None:
    """Skip on a laptop without the service; fail loudly in CI, where it must be there."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"{what} is required in CI but is not available", pytrace=False)
    pytest.skip(f"{what} is not available here")


@pytest.fixture
def require_postgres():
    require_service(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL=postgres://…)")


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path):
    """Each test stores files in its own folder, so tests can look at what was stored."""
    root = tmp_path / "private"
    root.mkdir()
    settings.PRIVATE_MEDIA_ROOT = root
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {**settings.STORAGES["default"], "OPTIONS": {"location": str(root)}},
    }
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def terms(db):
    return TermsVersionFactory()


@pytest.fixture
def customer(db):
    return CustomerFactory()


@pytest.fixture
def unit(customer):
    return UnitFactory(customer=customer)


@pytest.fixture
def customer_client(client, customer):
    client.force_login(customer.user)
    return client


def make_image(
    name="screen.png", size=(64, 48), image_format="PNG", color="red", exif=None
) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    image = Image.new("RGB", size, color)
    kwargs = {"exif": exif} if exif is not None else {}
    image.save(buffer, image_format, **kwargs)
    content_type = "image/png" if image_format == "PNG" else "image/jpeg"
    return SimpleUploadedFile(name, buffer.getvalue(), content_type=content_type)
