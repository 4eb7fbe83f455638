import io
import struct
import zlib

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from tests.conftest import (
    assert_private_download,
    make_image,
    stored_files,
    ticket_post_data,
    ticket_submit,
)
from tickets.models import Attachment
from tickets.uploads import clean_upload

pytestmark = pytest.mark.usefixtures("service_open")

GPS_IFD = 0x8825
ORIENTATION = 0x0112


def exif_with_gps(orientation=None) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x0110] = "PhoneModel"
    if orientation:
        exif[ORIENTATION] = orientation
    gps = exif.get_ifd(GPS_IFD)
    gps[1] = "N"
    gps[2] = (43.0, 46.0, 12.0)
    gps[3] = "E"
    gps[4] = (11.0, 15.0, 30.0)
    return exif


def reopen(clean) -> Image.Image:
    image = Image.open(io.BytesIO(clean.content.read()))
    clean.content.seek(0)
    image.load()
    return image


def upload(name, data, content_type="application/octet-stream"):
    return SimpleUploadedFile(name, data, content_type=content_type)


def png_header_only(width, height) -> bytes:
    """A tiny PNG whose header claims a huge image: a decompression bomb's calling card."""

    def chunk(kind, payload):
        return (
            struct.pack(">I", len(payload))
            + kind
            + payload
            + struct.pack(">I", zlib.crc32(kind + payload))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 16)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


# Accepted and cleaned ---------------------------------------------------------------------------


def test_png_is_reencoded_with_a_thumbnail():
    clean = clean_upload(make_image("screen.png", size=(800, 600)))
    assert clean.content_type == "image/png"
    assert clean.original_name == "screen.png"
    image = reopen(clean)
    assert image.format == "PNG"
    assert image.size == (800, 600)
    thumb = Image.open(io.BytesIO(clean.thumbnail.read()))
    assert thumb.format == "JPEG"
    assert max(thumb.size) <= 320


def test_jpeg_loses_exif_gps_and_comments():
    original = make_image("photo.jpg", image_format="JPEG", exif=exif_with_gps())
    assert Image.open(io.BytesIO(original.read())).getexif().get_ifd(GPS_IFD)
    original.seek(0)
    clean = clean_upload(original)
    assert clean.content_type == "image/jpeg"
    image = reopen(clean)
    assert image.format == "JPEG"
    assert dict(image.getexif()) == {}
    assert "exif" not in image.info
    assert b"GPS" not in clean.content.read()


def test_jpeg_comment_and_xmp_are_dropped():
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), "blue").save(
        buffer, "JPEG", comment=b"Officina Rossi, Via Roma 1", xmp=b"<x:xmpmeta>GPS</x:xmpmeta>"
    )
    clean = clean_upload(upload("photo.jpeg", buffer.getvalue()))
    image = reopen(clean)
    assert "comment" not in image.info
    assert "xmp" not in image.info
    assert b"Officina" not in clean.content.read()


def test_png_with_exif_chunk_loses_it():
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), "green").save(buffer, "PNG", exif=exif_with_gps())
    assert Image.open(io.BytesIO(buffer.getvalue())).getexif().get_ifd(GPS_IFD)
    clean = clean_upload(upload("shot.png", buffer.getvalue()))
    image = reopen(clean)
    assert dict(image.getexif()) == {}


def test_jpeg_rotated_by_exif_comes_out_upright():
    # A landscape picture the camera stored sideways: orientation 6 means "rotate 90° clockwise".
    buffer = io.BytesIO()
    stored = Image.new("RGB", (60, 20), "white")
    stored.paste((255, 0, 0), (0, 0, 10, 20))  # red band on the stored image's left
    stored.save(buffer, "JPEG", exif=exif_with_gps(orientation=6), quality=95)
    clean = clean_upload(upload("ecu.jpg", buffer.getvalue()))
    image = reopen(clean)
    assert image.size == (20, 60)
    assert image.getexif().get(ORIENTATION) is None
    red, green, _blue = image.convert("RGB").getpixel((10, 3))
    assert red > 200  # the left band is now on top
    assert green < 80


@pytest.mark.parametrize(("name", "image_format"), [("a.webp", "WEBP"), ("a.bmp", "BMP")])
def test_webp_and_bmp_become_png(name, image_format):
    buffer = io.BytesIO()
    Image.new("RGB", (10, 10)).save(buffer, image_format)
    clean = clean_upload(upload(name, buffer.getvalue()))
    assert clean.content_type == "image/png"
    assert clean.original_name == "a.png"
    assert reopen(clean).format == "PNG"


@pytest.mark.parametrize(
    ("name", "data", "content_type"),
    [
        pytest.param("kess.log", b"line\n", "text/plain", id="text"),
        pytest.param("x.zip", b"PK\x03\x04rest", "application/zip", id="zip"),
        pytest.param("x.pdf", b"%PDF-1.7 rest", "application/pdf", id="pdf"),
    ],
)
def test_text_zip_and_pdf_files_are_kept_as_they_are(name, data, content_type):
    clean = clean_upload(upload(name, data))
    assert (clean.content_type, clean.content.read(), clean.thumbnail) == (content_type, data, None)
    assert clean.original_name == name


# Refused ----------------------------------------------------------------------------------------


def truncated_png() -> bytes:
    buffer = io.BytesIO()
    image = Image.effect_noise((300, 300), 50).convert("RGB")
    image.save(buffer, "PNG")
    data = buffer.getvalue()
    return data[: len(data) // 2]


def jpeg_bytes() -> bytes:
    return make_image("x.jpg", image_format="JPEG").read()


REFUSED = {
    "bomb header": ("bomb.png", png_header_only(100_000, 100_000), "is not a valid PNG image"),
    "truncated png": ("cut.png", truncated_png(), "is not a valid PNG image, or it is damaged"),
    "text named png": ("notes.png", b"just some text", "is not a valid PNG image"),
    "jpeg named png": ("photo.png", jpeg_bytes(), "is not a valid PNG image"),
    "fake zip": ("logs.zip", b"not a zip at all", "is not really a ZIP file"),
    "fake pdf": ("manual.pdf", b"<html>nope</html>", "is not really a PDF file"),
    "exe": ("tool.exe", b"MZ\x90\x00", "this type of file is not accepted"),
    "svg": ("logo.svg", b"<svg onload=alert(1)></svg>", "this type of file is not accepted"),
    "html": ("page.html", b"<script>alert(1)</script>", "this type of file is not accepted"),
    "no suffix": ("README", b"text", "this type of file is not accepted"),
    "binary log": ("kess.log", b"\x00\x01\x02binary", "is not a text file"),
    "empty": ("empty.log", b"", "is empty"),
}


@pytest.mark.parametrize("case", REFUSED)
def test_bad_files_are_refused_with_a_clear_message(case):
    name, data, message = REFUSED[case]
    with pytest.raises(ValidationError) as info:
        clean_upload(upload(name, data))
    text = " ".join(info.value.messages)
    assert message in text
    assert name in text


def test_images_only_fields_refuse_other_types():
    with pytest.raises(ValidationError, match="not accepted"):
        clean_upload(upload("kess.log", b"x"), images_only=True)


def test_too_many_pixels_is_refused(settings):
    settings.ATTACHMENT_MAX_IMAGE_PIXELS = 1000
    with pytest.raises(ValidationError, match="is too large \\(64 by 48 pixels\\)"):
        clean_upload(make_image(size=(64, 48)))


def test_a_bomb_beyond_pillows_own_limit_is_refused(settings):
    settings.ATTACHMENT_MAX_IMAGE_PIXELS = 10**12  # only Pillow's guard is left
    with pytest.raises(ValidationError, match="not a valid PNG image"):
        clean_upload(upload("bomb.png", png_header_only(100_000, 100_000)))


def test_size_limit_from_settings(settings):
    settings.ATTACHMENT_MAX_SIZE = 100
    with pytest.raises(ValidationError, match="the limit is 100"):
        clean_upload(upload("big.log", b"x" * 101))
    assert clean_upload(upload("ok.log", b"x" * 100)).size == 100


# Through the form, stored, downloaded -----------------------------------------------------------


@pytest.mark.django_db
def test_stored_image_is_clean_and_thumbnail_exists(customer_client, unit, terms, private_media):
    photo = make_image("officina.jpg", image_format="JPEG", exif=exif_with_gps(orientation=6))
    response = customer_client.post(
        reverse("tickets:create"), ticket_post_data(unit, terms, ecu_photos=photo)
    )
    assert response.status_code == 302
    attachment = Attachment.objects.get()
    assert attachment.kind == Attachment.Kind.ECU_PHOTO
    files = stored_files(private_media)
    assert len(files) == 2
    assert attachment.file.name in files
    assert attachment.thumbnail.name in files
    assert attachment.file.name.startswith("attachments/")
    assert "officina" not in attachment.file.name  # stored under a generated name
    with attachment.file.open("rb") as handle:
        image = Image.open(handle)
        image.load()
    assert dict(image.getexif()) == {}
    assert image.size == (48, 64)  # upright
    assert attachment.size == attachment.file.size


@pytest.mark.django_db
def test_download_headers(customer_client, customer, unit, terms):
    ticket = ticket_submit(
        customer=customer,
        unit=unit,
        terms=terms,
        files=[("screenshot", clean_upload(make_image("schermata è “1”.png")))],
    )
    attachment = ticket.attachments.get()
    response = customer_client.get(reverse("tickets:attachment", args=[attachment.pk]))
    assert_private_download(
        response,
        filename_star="schermata%20%C3%A8%20%E2%80%9C1%E2%80%9D.png",
        content_type="image/png",
    )
    thumb = customer_client.get(reverse("tickets:attachment-thumbnail", args=[attachment.pk]))
    assert thumb["Content-Type"] == "image/jpeg"
    assert thumb["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in thumb["Content-Security-Policy"]


@pytest.mark.django_db
def test_a_text_file_is_downloaded_not_shown(customer_client, customer, unit, terms):
    ticket = ticket_submit(
        customer=customer,
        unit=unit,
        terms=terms,
        files=[("log", clean_upload(upload("trace.txt", b"<script>alert(1)</script>")))],
    )
    attachment = ticket.attachments.get()
    response = customer_client.get(reverse("tickets:attachment", args=[attachment.pk]))
    assert response["Content-Disposition"].startswith('attachment; filename="trace.txt"')
    assert response["Content-Type"].startswith("text/plain")
    assert response["X-Content-Type-Options"] == "nosniff"
    no_thumb = customer_client.get(reverse("tickets:attachment-thumbnail", args=[attachment.pk]))
    assert no_thumb.status_code == 404


@pytest.mark.django_db
def test_count_limit_on_the_service(customer, unit, terms, settings):
    settings.ATTACHMENT_MAX_COUNT = 1
    files = [("log", clean_upload(upload(f"{i}.log", b"x"))) for i in range(2)]
    with pytest.raises(ValidationError, match="at most 1"):
        ticket_submit(customer=customer, unit=unit, terms=terms, files=files)
