"""Where uploaded files are kept: the local private folder, or a private S3-compatible bucket.

The settings build the default storage here (`default_storage_config`), from environment
variables: a bucket name switches to django-storages' S3 backend, otherwise files stay on disk
under PRIVATE_MEDIA_ROOT. Either way nothing is public: the bucket's objects get no ACL of their
own (the bucket's private default), and every file goes out through a view that checks who asks
and streams the file itself (`stored_file_open`), so no bucket URL ever reaches a page.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

S3_BACKEND = "storages.backends.s3.S3Storage"
DISK_BACKEND = "django.core.files.storage.FileSystemStorage"


def disk_storage_config(location: str | Path) -> dict[str, Any]:
    """The private folder on this machine; `base_url` is never served (there is no MEDIA_URL)."""
    return {"BACKEND": DISK_BACKEND, "OPTIONS": {"location": str(location), "base_url": "/unused/"}}


def s3_storage_config(
    *,
    bucket: str,
    endpoint_url: str = "",
    access_key: str = "",
    secret_key: str = "",
    region: str = "",
    location: str = "",
    signature_expire: int = 60,
) -> dict[str, Any]:
    """A private bucket through django-storages: no public ACL, signed URLs, no overwriting.

    Empty values are left out, so boto3 finds what it can by itself (an instance role's keys,
    AWS's own endpoint for the region).
    """
    options: dict[str, Any] = {
        "bucket_name": bucket,
        # No ACL of our own on each object: the bucket's (private) default applies.
        "default_acl": None,
        # A URL the storage ever builds is signed and short-lived, never a public one.
        "querystring_auth": True,
        "querystring_expire": signature_expire,
        # Two uploads of the same name get two objects, as on disk.
        "file_overwrite": False,
        # Path-style addressing works with every S3-compatible server (MinIO, moto, Ceph).
        "addressing_style": "path",
        "signature_version": "s3v4",
    }
    if endpoint_url:
        options["endpoint_url"] = endpoint_url
    if access_key:
        options["access_key"] = access_key
    if secret_key:
        options["secret_key"] = secret_key
    if region:
        options["region_name"] = region
    if location:
        options["location"] = location.strip("/")
    return {"BACKEND": S3_BACKEND, "OPTIONS": options}


def default_storage_config(
    *, private_media_root: str | Path, bucket: str = "", **s3_options: str
) -> dict[str, Any]:
    """The default storage the settings ask for: the bucket when one is named, else the disk.

    `s3_options` are s3_storage_config's (endpoint_url, access_key, secret_key, region,
    location), read from the environment by config/settings/base.py.
    """
    bucket = (bucket or "").strip()
    if not bucket:
        return disk_storage_config(private_media_root)
    return s3_storage_config(
        bucket=bucket, **{key: (value or "").strip() for key, value in s3_options.items()}
    )


def is_s3(storage) -> bool:
    """Whether a storage object is django-storages' S3 backend (or a subclass of it)."""
    try:
        from storages.backends.s3 import S3Storage
    except ImportError:  # pragma: no cover - the dependency is always installed
        return False
    return isinstance(storage, S3Storage)


@dataclass
class StoredFile:
    """A stored file opened for reading from its first byte, with its size when known."""

    stream: io.IOBase
    size: int | None


def stored_file_open(field_file) -> StoredFile:
    """Open a stored file to stream it out; FileNotFoundError when the storage has no such file.

    On disk this is the file itself. From a bucket the object is streamed as S3 sends it, so the
    first byte leaves before the last one arrived (django-storages' own file object would first
    copy the whole object into a temporary file).
    """
    storage = field_file.storage
    if not is_s3(storage):
        stream = storage.open(field_file.name, "rb")
        return StoredFile(stream=stream, size=None)
    from botocore.exceptions import ClientError

    # One GET, whose body is streamed as it arrives; a missing object is its error, not a
    # separate HEAD first (storage.open would send one, then copy the body to a temporary file).
    try:
        response = storage.connection.meta.client.get_object(
            Bucket=storage.bucket_name, Key=_bucket_key(storage, field_file.name)
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
            raise FileNotFoundError(f"File does not exist: {field_file.name}") from exc
        raise
    return StoredFile(stream=response["Body"], size=response.get("ContentLength"))


def stored_file_response(field_file, **kwargs):
    """A FileResponse streaming a stored file; Http404 when the storage has lost it.

    Keywords go to FileResponse (as_attachment, filename, content_type); the caller adds its
    own security headers, the same whichever storage holds the file.
    """
    from django.http import FileResponse, Http404

    try:
        stored = stored_file_open(field_file)
    except FileNotFoundError as exc:
        logger.warning("Stored file %s is missing", field_file.name)
        raise Http404 from exc
    response = FileResponse(stored.stream, **kwargs)
    if stored.size is not None and not response.has_header("Content-Length"):
        response["Content-Length"] = str(stored.size)
    return response


# Moving the local files into the bucket (manage.py attachments_to_storage) ----------------------

# Files up to this size are read whole before the PUT; larger ones go up in parts, which S3 also
# shows only once the last part is in (CompleteMultipartUpload): never a half-written object.
COPY_IN_MEMORY_MAX = 64 * 1024 * 1024


class StorageUnavailableError(Exception):
    """The default storage is not a bucket, or the bucket cannot be reached."""


@dataclass
class LocalFile:
    name: str  # the storage name: the path under the source folder, with forward slashes
    path: Path
    size: int


@dataclass
class CopyResult:
    copied: int = 0
    copied_bytes: int = 0
    skipped: int = 0


def local_files(source: Path) -> list[LocalFile]:
    """The files under a local storage folder, in name order."""
    found = []
    for path in sorted(source.rglob("*")):
        if path.is_file() and not path.is_symlink():
            found.append(
                LocalFile(
                    name=path.relative_to(source).as_posix(), path=path, size=path.stat().st_size
                )
            )
    return found


def _bucket_key(storage, name: str) -> str:
    location = (storage.location or "").strip("/")
    return f"{location}/{name}" if location else name


def bucket_check(storage) -> None:
    """Raise StorageUnavailableError unless `storage` is a bucket that answers to our keys."""
    from botocore.exceptions import BotoCoreError, ClientError

    if not is_s3(storage):
        raise StorageUnavailableError(
            "The default storage is not an S3 bucket: set AWS_STORAGE_BUCKET_NAME (and "
            "AWS_S3_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY for a bucket outside "
            "AWS) in the environment of this command."
        )
    try:
        storage.connection.meta.client.head_bucket(Bucket=storage.bucket_name)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        raise StorageUnavailableError(
            f"The bucket {storage.bucket_name!r} cannot be used ({code or exc}): check that it "
            "exists and that the keys may read and write it."
        ) from exc
    except BotoCoreError as exc:
        raise StorageUnavailableError(
            f"The bucket {storage.bucket_name!r} cannot be reached: {exc}"
        ) from exc


def bucket_sizes(storage) -> dict[str, int]:
    """The size of every object under the storage's prefix, by key: one listing, not a HEAD each."""
    location = (storage.location or "").strip("/")
    prefix = f"{location}/" if location else ""
    return {item.key: item.size for item in storage.bucket.objects.filter(Prefix=prefix)}


def attachments_copy_to_storage(
    *, files: list[LocalFile], storage, dry_run: bool = False, jobs: int = 4, on_file=None
) -> CopyResult:
    """Copy the local `files` (local_files) missing from the bucket, or of another size, there.

    Idempotent and resumable: what is already there with the same size is skipped, so a run cut
    short is finished by the next one. Local files are only read. `jobs` files go up at once
    (each PUT waits mostly on the network); `on_file(local, copied)` is called after each file
    (the command's progress bar). The first failure stops the run once the uploads under way
    are finished, and is raised.
    """
    from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

    bucket_check(storage)
    present = bucket_sizes(storage)
    result = CopyResult()

    def done(local: LocalFile, copied: bool) -> None:
        if copied:
            result.copied += 1
            result.copied_bytes += local.size
        else:
            result.skipped += 1
        if on_file:
            on_file(local, copied)

    missing = []
    for local in files:
        if present.get(_bucket_key(storage, local.name)) == local.size:
            done(local, False)
        elif dry_run:
            done(local, True)
        else:
            missing.append(local)
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        running: dict = {}
        try:
            for local in missing:
                if len(running) >= 2 * max(1, jobs):
                    finished, _left = wait(running, return_when=FIRST_COMPLETED)
                    for future in finished:
                        future.result()
                        done(running.pop(future), True)
                running[pool.submit(_copy_one, storage, local)] = local
            for future in list(running):
                future.result()
                done(running.pop(future), True)
        finally:
            for future in running:
                future.cancel()
    return result


def _copy_one(storage, local: LocalFile) -> None:
    import mimetypes

    extra = dict(storage.get_object_parameters(local.name))
    extra.setdefault(
        "ContentType", mimetypes.guess_type(local.name)[0] or "application/octet-stream"
    )
    _upload(storage, key=_bucket_key(storage, local.name), local=local, extra=extra)


def _upload(storage, *, key: str, local: LocalFile, extra: dict) -> None:
    # storage.connection is per thread (django-storages keeps it in a threading.local), so is
    # its client: boto3 resources must not be shared between threads.
    client = storage.connection.meta.client
    with local.path.open("rb") as handle:
        if local.size <= COPY_IN_MEMORY_MAX:
            # The whole file read first: a file that fails half-way is never PUT at all.
            data = handle.read()
            client.put_object(Bucket=storage.bucket_name, Key=key, Body=data, **extra)
        else:
            client.upload_fileobj(handle, storage.bucket_name, key, ExtraArgs=extra)
