"""Attachments in a real S3 API (moto's server, tests/s3server.py): stored, served, deleted."""

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage


@pytest.mark.django_db
def test_the_default_storage_is_the_tests_bucket(s3_server, s3_bucket):
    name = default_storage.save("probe/hello.txt", ContentFile(b"hello"))
    assert s3_server.keys(s3_bucket) == [name]
    with default_storage.open(name, "rb") as stored:
        assert stored.read() == b"hello"
