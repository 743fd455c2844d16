"""Real photo files made in the test: a JPEG, PNG, WebP or HEIC carrying EXIF with a GPS position."""

from __future__ import annotations

import io

from PIL import ExifTags, Image

GPS_LATITUDE = (51.0, 30.0, 26.0)


def exif_with_gps() -> Image.Exif:
    """EXIF naming a camera and, in its GPS IFD, the place the photo was taken."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PatientPhone"
    exif[ExifTags.Base.Orientation] = 1
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: GPS_LATITUDE,
        ExifTags.GPS.GPSLongitudeRef: "W",
        ExifTags.GPS.GPSLongitude: (0.0, 7.0, 39.0),
    }
    return exif


def photo_bytes(kind: str = "JPEG", size: tuple[int, int] = (640, 480), gps: bool = True) -> bytes:
    """A photo-like picture (a red patch on skin tone) in format ``kind``, with GPS EXIF if asked."""
    if kind == "HEIF":
        import pillow_heif

        pillow_heif.register_heif_opener()
    image = Image.new("RGB", size, (224, 180, 160))
    image.paste((200, 60, 60), (size[0] // 4, size[1] // 4, size[0] // 2, size[1] // 2))
    out = io.BytesIO()
    extra = {"exif": exif_with_gps().tobytes()} if gps else {}
    image.save(out, format=kind, **extra)
    return out.getvalue()


def has_gps(data: bytes) -> bool:
    """Whether the file still names a place (any GPS tag, or EXIF at all)."""
    with Image.open(io.BytesIO(data)) as image:
        exif = image.getexif()
        return bool(exif.get_ifd(ExifTags.IFD.GPSInfo)) or b"GPS" in data or "exif" in image.info


def oversized_jpeg(limit: int) -> bytes:
    """A valid JPEG just over ``limit`` bytes (noise compresses badly)."""
    import os

    side = 256
    while True:
        image = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
        out = io.BytesIO()
        image.save(out, format="JPEG", quality=95)
        if out.tell() > limit:
            return out.getvalue()
        side *= 2
