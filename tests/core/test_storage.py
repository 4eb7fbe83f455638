"""The default storage the environment chooses: the local folder, or a private bucket."""

import json
import os
import subprocess
import sys

from django.conf import settings

from core.storage import DISK_BACKEND, S3_BACKEND, default_storage_config

PRINT_STORAGE = (
    "import django, json; django.setup(); from django.conf import settings; "
    "print(json.dumps(settings.STORAGES['default'], default=str))"
)


def test_without_a_bucket_the_files_stay_on_disk():
    config = default_storage_config(private_media_root="/srv/private", bucket=" ")
    assert config == {
        "BACKEND": DISK_BACKEND,
        "OPTIONS": {"location": "/srv/private", "base_url": "/unused/"},
    }


def test_a_bucket_is_private_signed_and_never_overwritten():
    config = default_storage_config(
        private_media_root="/srv/private",
        bucket="support-files",
        endpoint_url="https://s3.example.com",
        access_key="AKIA",
        secret_key="secret",
        region="eu-south-1",
        location="/portal/",
    )
    assert config["BACKEND"] == S3_BACKEND
    options = config["OPTIONS"]
    assert options["bucket_name"] == "support-files"
    assert options["default_acl"] is None
    assert options["querystring_auth"] is True
    assert options["querystring_expire"] <= 60
    assert options["file_overwrite"] is False
    assert options["endpoint_url"] == "https://s3.example.com"
    assert options["region_name"] == "eu-south-1"
    assert options["location"] == "portal"


def test_empty_values_are_left_to_boto3():
    options = default_storage_config(
        private_media_root="/srv/private", bucket="b", endpoint_url="", access_key=""
    )["OPTIONS"]
    assert "endpoint_url" not in options
    assert "access_key" not in options


def settings_storage(module="config.settings.local", **environment) -> dict:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("AWS_") and key != "DATABASE_URL"
    }
    env.update(DJANGO_SETTINGS_MODULE=module, DJANGO_READ_DOT_ENV="false", **environment)
    result = subprocess.run(
        [sys.executable, "-c", PRINT_STORAGE],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_settings_read_the_bucket_from_the_environment(tmp_path):
    assert settings_storage(PRIVATE_MEDIA_ROOT=str(tmp_path))["BACKEND"] == DISK_BACKEND
    config = settings_storage(
        AWS_STORAGE_BUCKET_NAME="support-files",
        AWS_S3_ENDPOINT_URL="http://127.0.0.1:9000",
        AWS_ACCESS_KEY_ID="key",
        AWS_SECRET_ACCESS_KEY="secret",
        AWS_S3_REGION_NAME="eu-south-1",
        AWS_LOCATION="portal",
    )
    assert config["BACKEND"] == S3_BACKEND
    assert config["OPTIONS"]["bucket_name"] == "support-files"
    assert config["OPTIONS"]["location"] == "portal"


def test_the_test_settings_keep_the_disk_whatever_the_environment():
    config = settings_storage("config.settings.test", AWS_STORAGE_BUCKET_NAME="support-files")
    assert config["BACKEND"] == DISK_BACKEND
