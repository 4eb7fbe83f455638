"""manage.py attachments_to_storage: the local files copied into the bucket, once, resumably."""

import io

import pytest
from botocore.config import Config
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command

from core import storage as core_storage

FILES = {
    "attachments/2026/03/a1.png": b"\x89PNG fake image",
    "attachments/2026/03/a1-thumb.jpg": b"\xff\xd8 fake thumbnail",
    "attachments/2026/04/trace.log": b"ERR 0x42\n" * 1000,
    "inbound/2026/04/message.eml": b"From: x@example.com\r\n\r\nHello",
}


@pytest.fixture
def source(tmp_path):
    """A local private folder as the embedded default leaves it."""
    root = tmp_path / "old-private"
    for name, content in FILES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return root


def run(*args) -> str:
    out = io.StringIO()
    call_command("attachments_to_storage", "--no-progress", *args, stdout=out)
    return out.getvalue()


def test_the_files_are_copied_under_the_same_names(source, s3_server, s3_bucket):
    out = run("--source", str(source))
    assert "4 files" in out
    assert "copied, 0 already in the bucket" in out
    assert s3_server.keys(s3_bucket) == sorted(FILES)
    for name, content in FILES.items():
        with default_storage.open(name, "rb") as stored:
            assert stored.read() == content
    # Private objects, with a content type of their own.
    client = s3_server.client()
    head = client.head_object(Bucket=s3_bucket, Key="inbound/2026/04/message.eml")
    assert head["ContentType"] == "message/rfc822"
    grants = client.get_object_acl(Bucket=s3_bucket, Key="attachments/2026/04/trace.log")
    assert not [g for g in grants["Grants"] if "URI" in g["Grantee"]]
    # The local files are only read.
    assert sorted(p.relative_to(source).as_posix() for p in source.rglob("*.*")) == sorted(FILES)


def test_a_second_run_copies_nothing(source, s3_server, s3_bucket, monkeypatch):
    run("--source", str(source))
    puts = []
    original = core_storage._upload
    monkeypatch.setattr(
        core_storage, "_upload", lambda *a, **kw: puts.append(kw) or original(*a, **kw)
    )
    out = run("--source", str(source))
    assert out.strip() == "0 files (0\xa0bytes) copied, 4 already in the bucket."
    assert puts == []


def test_an_object_of_another_size_is_copied_again(source, s3_server, s3_bucket):
    s3_server.client().put_object(
        Bucket=s3_bucket, Key="attachments/2026/04/trace.log", Body=b"half"
    )
    out = run("--source", str(source))
    assert "4 files" in out
    with default_storage.open("attachments/2026/04/trace.log", "rb") as stored:
        assert stored.read() == FILES["attachments/2026/04/trace.log"]


def test_an_interrupted_run_is_resumed(source, s3_server, s3_bucket, monkeypatch):
    original = core_storage._upload
    done = []

    def upload_then_fail(storage, *, key, local, extra):
        if len(done) == 2:
            raise ConnectionError("the network went away")
        original(storage, key=key, local=local, extra=extra)
        done.append(key)

    monkeypatch.setattr(core_storage, "_upload", upload_then_fail)
    with pytest.raises(ConnectionError):
        run("--source", str(source), "--jobs", "1")
    # What was copied is whole; what was not is absent, never half-written.
    assert s3_server.keys(s3_bucket) == sorted(done)

    monkeypatch.setattr(core_storage, "_upload", original)
    out = run("--source", str(source))
    assert "2 files" in out
    assert "2 already in the bucket" in out
    assert s3_server.keys(s3_bucket) == sorted(FILES)


def test_a_dry_run_writes_nothing(source, s3_server, s3_bucket):
    out = run("--source", str(source), "--dry-run")
    assert "Dry run: 4 files" in out
    assert "would copy attachments/2026/03/a1.png" in out
    assert s3_server.keys(s3_bucket) == []


def test_the_source_defaults_to_the_private_folder(source, s3_server, s3_bucket, settings):
    settings.PRIVATE_MEDIA_ROOT = source
    run()
    assert s3_server.keys(s3_bucket) == sorted(FILES)


def test_the_prefix_is_respected(source, s3_server, s3_bucket, settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": s3_server.storage_config(s3_bucket, location="portal"),
    }
    run("--source", str(source))
    assert s3_server.keys(s3_bucket) == sorted(f"portal/{name}" for name in FILES)
    with default_storage.open("attachments/2026/03/a1.png", "rb") as stored:
        assert stored.read() == FILES["attachments/2026/03/a1.png"]
    assert "0 files" in run("--source", str(source))


# Refusals ---------------------------------------------------------------------------------------


def test_refused_when_the_default_storage_is_the_disk(source):
    with pytest.raises(CommandError, match="not an S3 bucket: set AWS_STORAGE_BUCKET_NAME"):
        run("--source", str(source))


def test_refused_when_the_bucket_does_not_exist(source, s3_server, s3_bucket, settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": s3_server.storage_config("no-such-bucket"),
    }
    with pytest.raises(CommandError, match="'no-such-bucket' cannot be used"):
        run("--source", str(source))


def test_refused_when_the_endpoint_does_not_answer(source, s3_server, settings):
    from tests.notifications.live import free_port

    config = s3_server.storage_config("attachments")
    config["OPTIONS"].update(
        endpoint_url=f"http://127.0.0.1:{free_port()}",
        client_config=Config(connect_timeout=1, retries={"max_attempts": 1}),
    )
    settings.STORAGES = {**settings.STORAGES, "default": config}
    with pytest.raises(CommandError, match="cannot be reached"):
        run("--source", str(source))


def test_many_files_go_up_side_by_side(tmp_path, s3_server, s3_bucket):
    source = tmp_path / "many"
    for index in range(40):
        (source / f"{index % 3}").mkdir(parents=True, exist_ok=True)
        (source / f"{index % 3}" / f"f{index}.log").write_bytes(b"x" * index)
    assert "40 files" in run("--source", str(source), "--jobs", "8")
    assert len(s3_server.keys(s3_bucket)) == 40
    assert "0 files" in run("--source", str(source), "--jobs", "8")


def test_refused_when_the_source_is_missing(tmp_path, s3_bucket):
    with pytest.raises(CommandError, match="does not exist"):
        run("--source", str(tmp_path / "nowhere"))
