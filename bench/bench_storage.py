"""Measure attachments on the local disk against a bucket, and the copy command's two runs.

Needs no database: starts moto's S3 server from .venv (moto[server], tests/s3server.py) on a free
port, then prints, as medians over a few rounds:

- storing a 20 MB file (Storage.save) and reading it back as the download view does
  (core.storage.stored_file_open): time to the first block FileResponse sends and to the last,
  on a FileSystemStorage in a temporary folder and on django-storages' S3Storage;
- `attachments_copy_to_storage` (what `manage.py attachments_to_storage` runs) for 200 files of
  50 KB: the first run, which copies them all, and the second, which only lists the bucket.

moto keeps the objects in its own memory on this machine, so the bucket's figures are the
S3 protocol's cost (HTTP, signing, boto3) without a real network; a bucket across a network adds
its round trips. Run:

    .venv/bin/python bench/bench_storage.py [--rounds 3] [--size-mb 20] [--files 200]
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
os.environ["DATABASE_URL"] = "sqlite:///:memory:"  # never opened: storage only

import django  # noqa: E402

django.setup()

from django.core.files import File  # noqa: E402
from django.core.files.storage import FileSystemStorage  # noqa: E402
from storages.backends.s3 import S3Storage  # noqa: E402

from core.storage import (  # noqa: E402
    attachments_copy_to_storage,
    local_files,
    stored_file_open,
)
from tests.s3server import S3Server, S3ServerError, moto_missing  # noqa: E402

BLOCK = 4096  # FileResponse.block_size: what the first chunk of a download is


def store_and_read(storage, source: Path) -> tuple[float, float, float]:
    """Seconds to save the file, to the first block read back, and to the last."""
    started = time.perf_counter()
    with source.open("rb") as handle:
        name = storage.save(f"bench/{source.name}", File(handle, name=source.name))
    stored = time.perf_counter() - started

    started = time.perf_counter()
    opened = stored_file_open(SimpleNamespace(storage=storage, name=name))
    opened.stream.read(BLOCK)
    first = time.perf_counter() - started
    while opened.stream.read(64 * 1024):
        pass
    opened.stream.close()
    last = time.perf_counter() - started
    storage.delete(name)
    return stored, first, last


def ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:8.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--size-mb", type=int, default=20)
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--file-kb", type=int, default=50)
    args = parser.parse_args()

    missing = moto_missing()
    if missing:
        print(f"{missing} is missing: run `make install`, then run again.")
        sys.exit(2)
    work = Path(tempfile.mkdtemp(prefix="bench-storage-"))
    big = work / "dump.bin"
    big.write_bytes(os.urandom(args.size_mb * 1024 * 1024))
    disk = FileSystemStorage(location=str(work / "disk"))

    try:
        server = S3Server().start()
    except S3ServerError as exc:
        print(f"moto's S3 server did not start: {exc}")
        sys.exit(2)
    try:
        bucket = server.create_bucket("bench-attachments")
        s3 = S3Storage(**server.storage_config(bucket)["OPTIONS"])

        results = {"disk": [], "bucket": []}
        for _round in range(args.rounds):  # interleaved: both see the same machine
            results["disk"].append(store_and_read(disk, big))
            results["bucket"].append(store_and_read(s3, big))
        print(f"A {args.size_mb} MB file, median of {args.rounds} rounds:")
        print(f"  {'':8} {'store':>11} {'first byte':>11} {'last byte':>11}")
        for where, rows in results.items():
            stored, first, last = zip(*rows, strict=True)
            print(f"  {where:8} {ms(stored)} {ms(first)} {ms(last)}")

        source = work / "private"
        for index in range(args.files):
            path = source / "attachments" / f"{index % 12:02d}" / f"file-{index:04d}.log"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(os.urandom(args.file_kb * 1024))
        print(
            f"attachments_to_storage, {args.files} files of {args.file_kb} KB, "
            f"median of {args.rounds} rounds:"
        )
        for jobs in (1, 4):
            first_runs, second_runs = [], []
            for round_number in range(args.rounds):
                copy_bucket = server.create_bucket(f"bench-copy-{jobs}-{round_number}")
                target = S3Storage(**server.storage_config(copy_bucket)["OPTIONS"])
                started = time.perf_counter()
                first = attachments_copy_to_storage(
                    files=local_files(source), storage=target, jobs=jobs
                )
                first_runs.append(time.perf_counter() - started)
                started = time.perf_counter()
                second = attachments_copy_to_storage(
                    files=local_files(source), storage=target, jobs=jobs
                )
                second_runs.append(time.perf_counter() - started)
                assert (first.copied, second.copied) == (args.files, 0)
                assert second.skipped == args.files
                server.delete_bucket(copy_bucket)
            first_median = statistics.median(first_runs)
            print(
                f"  --jobs {jobs}  first run (copies all)  {ms(first_runs)}  "
                f"({args.files / first_median:.0f} files/s, "
                f"{args.files * args.file_kb / 1024 / first_median:.1f} MB/s);  "
                f"second run (copies none) {ms(second_runs)}"
            )
    finally:
        server.stop()
        import shutil

        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
