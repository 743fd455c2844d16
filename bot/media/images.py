"""Check that bytes are a photo we accept and re-encode them without their metadata.

Only JPEG, PNG, WebP and HEIC pass, recognised by their first bytes (never by a name or a
declared type). The image is fully decoded and written anew as a JPEG: EXIF (with the GPS
location), XMP, ICC comments and anything appended after the image data (a polyglot file)
are left behind, so what we keep is pixels only.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import Optional

from PIL import Image, ImageOps, UnidentifiedImageError

# Bigger photos are scaled down: plenty for a nurse to judge redness, far less to store.
MAX_SIDE = 2560
THUMBNAIL_SIDE = 320
JPEG_QUALITY = 85
# A decompression bomb (a tiny file that decodes to gigabytes) is refused before decoding.
MAX_PIXELS = 50_000_000
CONTENT_TYPE = "image/jpeg"

_HEIF_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"})


class ImageRefusedError(ValueError):
    """The bytes are not a photo we accept; ``reason`` names the sentence to answer with."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


TOO_LARGE = "too_large"
NOT_AN_IMAGE = "not_an_image"


@dataclass(frozen=True)
class CleanImage:
    """A re-encoded photo and its thumbnail, both JPEG without metadata."""

    data: bytes
    thumbnail: bytes
    width: int
    height: int
    source_type: str
    content_type: str = CONTENT_TYPE


def sniff(data: bytes) -> Optional[str]:
    """Return the photo type the leading bytes announce (jpeg, png, webp, heic), else None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS:
        return "heic"
    return None


def _heif_support() -> bool:
    try:
        import pillow_heif
    except ImportError:  # HEIC then fails as an unreadable image, never crashes
        return False
    pillow_heif.register_heif_opener()
    return True


def _decode(data: bytes) -> Image.Image:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        image = Image.open(io.BytesIO(data))
        if image.width * image.height > MAX_PIXELS:
            raise ImageRefusedError(NOT_AN_IMAGE)
        image.load()
    return image


def _flatten(image: Image.Image) -> Image.Image:
    """RGB pixels, turned upright as the camera meant, transparency on white."""
    image = ImageOps.exif_transpose(image) or image
    if image.mode in ("RGBA", "LA", "P"):
        image = image.convert("RGBA")
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image, mask=image.getchannel("A"))
        return background
    return image.convert("RGB")


def _jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    # No exif=, icc_profile= or comment=: Pillow writes none of them unless asked.
    image.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return out.getvalue()


def clean_image(data: bytes, max_bytes: int) -> CleanImage:
    """Check ``data`` and return it re-encoded; raise :class:`ImageRefusedError` otherwise."""
    if len(data) > max_bytes:
        raise ImageRefusedError(TOO_LARGE)
    kind = sniff(data)
    if kind is None or (kind == "heic" and not _heif_support()):
        raise ImageRefusedError(NOT_AN_IMAGE)
    try:
        image = _flatten(_decode(data))
    except ImageRefusedError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError, Warning):
        raise ImageRefusedError(NOT_AN_IMAGE) from None
    image.thumbnail((MAX_SIDE, MAX_SIDE))
    thumbnail = image.copy()
    thumbnail.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
    return CleanImage(_jpeg(image), _jpeg(thumbnail), image.width, image.height, kind)
