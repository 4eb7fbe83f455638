"""Check and clean uploaded files before anything is stored.

Images are decoded by Pillow restricted to the formats their name claims, fully loaded (a
truncated or bomb file fails here, not later), turned upright and re-encoded without metadata,
so a workshop's GPS position never leaves the EXIF block of a phone photo.
"""

import io
import os
import warnings
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.template.defaultfilters import filesizeformat
from django.utils.formats import number_format
from django.utils.html import avoid_wrapping
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from PIL import Image, ImageOps, UnidentifiedImageError

IMAGE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP", ".bmp": "BMP"}
TEXT_SUFFIXES = {".log", ".txt", ".csv", ".xml", ".ini"}
BINARY_SIGNATURES = {".zip": (b"PK\x03\x04", b"PK\x05\x06"), ".pdf": (b"%PDF-",)}
ALLOWED_SUFFIXES = sorted({*IMAGE_FORMATS, *TEXT_SUFFIXES, *BINARY_SIGNATURES})
THUMBNAIL_SIZE = (320, 320)


@dataclass
class CleanFile:
    """An upload that passed every check, ready to be stored."""

    original_name: str
    content: ContentFile
    content_type: str
    thumbnail: ContentFile | None = None

    @property
    def size(self) -> int:
        return self.content.size


def bytes_display(value: int) -> str:
    """Render a size as an exact number of bytes, grouped as the language writes numbers."""
    return avoid_wrapping(
        ngettext("%(size)s byte", "%(size)s bytes", value)
        % {"size": number_format(value, force_grouping=True)}
    )


def sizes_display(size: int, limit: int) -> tuple[str, str]:
    """Render a size and the limit it broke, in bytes when the rounded figures read the same."""
    shown, limit_shown = filesizeformat(size), filesizeformat(limit)
    if shown == limit_shown and size != limit:
        return bytes_display(size), bytes_display(limit)
    return shown, limit_shown


def upload_name(upload) -> str:
    """The name to show for an upload: its base name only, never a client's path."""
    return os.path.basename(upload.name or "")[:255] or "file"


def check_upload_size(upload) -> None:
    """Raise ValidationError when an upload is larger than ATTACHMENT_MAX_SIZE."""
    if upload.size > settings.ATTACHMENT_MAX_SIZE:
        size, limit = sizes_display(upload.size, settings.ATTACHMENT_MAX_SIZE)
        raise ValidationError(
            _("“%(name)s” is %(size)s; the limit is %(limit)s per file."),
            params={"name": upload_name(upload), "size": size, "limit": limit},
            code="too_large",
        )


def clean_upload(upload, *, images_only: bool = False) -> CleanFile:
    """Validate one uploaded file and return its cleaned content, or raise ValidationError."""
    name = upload_name(upload)
    suffix = os.path.splitext(name)[1].lower()
    check_upload_size(upload)
    if upload.size == 0:
        raise ValidationError(_("“%(name)s” is empty."), params={"name": name}, code="empty")
    allowed = sorted(IMAGE_FORMATS) if images_only else ALLOWED_SUFFIXES
    if suffix not in allowed:
        raise ValidationError(
            _("“%(name)s”: this type of file is not accepted. Accepted: %(allowed)s."),
            params={"name": name, "allowed": ", ".join(allowed)},
            code="type",
        )
    data = b"".join(upload.chunks())
    if suffix in IMAGE_FORMATS:
        return _clean_image(name=name, data=data, image_format=IMAGE_FORMATS[suffix])
    if suffix in TEXT_SUFFIXES:
        if b"\x00" in data[:8192]:
            raise ValidationError(
                _("“%(name)s” is not a text file."), params={"name": name}, code="content"
            )
        return CleanFile(name, ContentFile(data), "text/plain")
    if not data.startswith(BINARY_SIGNATURES[suffix]):
        raise ValidationError(
            _("“%(name)s” is not really a %(type)s file."),
            params={"name": name, "type": suffix[1:].upper()},
            code="content",
        )
    content_type = "application/zip" if suffix == ".zip" else "application/pdf"
    return CleanFile(name, ContentFile(data), content_type)


def _clean_image(*, name: str, data: bytes, image_format: str) -> CleanFile:
    invalid = ValidationError(
        _("“%(name)s” is not a valid %(type)s image, or it is damaged."),
        params={"name": name, "type": image_format},
        code="image",
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=[image_format])
            width, height = image.size
            if width * height > settings.ATTACHMENT_MAX_IMAGE_PIXELS:
                raise ValidationError(
                    _("“%(name)s” is too large (%(width)s by %(height)s pixels)."),
                    params={"name": name, "width": width, "height": height},
                    code="pixels",
                )
            image.load()
            image = ImageOps.exif_transpose(image)
    except ValidationError:
        raise
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ) as exc:
        raise invalid from exc

    # Pillow writes some metadata back from `info` (a JPEG's comment, for one): keep only the
    # palette transparency, which is part of the picture, not about it.
    image.info = {k: v for k, v in image.info.items() if k == "transparency"}
    out = io.BytesIO()
    if image_format == "JPEG":
        image.convert("RGB").save(out, "JPEG", quality=90, optimize=True)
        content_type, suffix = "image/jpeg", ".jpg"
    else:
        # PNG keeps screenshots sharp; WebP and BMP are normalised to PNG as well.
        if image.mode not in ("RGB", "RGBA", "L", "LA", "P"):
            image = image.convert("RGBA")
        image.save(out, "PNG", optimize=True)
        content_type, suffix = "image/png", ".png"
    stem = os.path.splitext(name)[0]
    thumb = image.copy()
    thumb.thumbnail(THUMBNAIL_SIZE)
    thumb_out = io.BytesIO()
    thumb.convert("RGB").save(thumb_out, "JPEG", quality=80)
    return CleanFile(
        original_name=stem + suffix,
        content=ContentFile(out.getvalue()),
        content_type=content_type,
        thumbnail=ContentFile(thumb_out.getvalue()),
    )
