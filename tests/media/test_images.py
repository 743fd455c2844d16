"""Only real photos pass, and what is kept has no EXIF (no location) and no trailing payload."""

from __future__ import annotations

import pytest

from bot.media.images import NOT_AN_IMAGE, TOO_LARGE, ImageRefusedError, clean_image, sniff
from bot.media.store import MediaStore
from tests.media.images import has_gps, oversized_jpeg, photo_bytes

LIMIT = 10 * 1024 * 1024


@pytest.mark.parametrize(
    ("kind", "sniffed"), [("JPEG", "jpeg"), ("PNG", "png"), ("WEBP", "webp"), ("HEIF", "heic")]
)
def test_every_accepted_type_is_re_encoded_as_jpeg_without_its_gps_position(kind: str, sniffed: str) -> None:
    original = photo_bytes(kind)
    assert has_gps(original)
    clean = clean_image(original, LIMIT)
    assert clean.source_type == sniffed
    assert clean.data.startswith(b"\xff\xd8\xff") and clean.thumbnail.startswith(b"\xff\xd8\xff")
    assert not has_gps(clean.data) and not has_gps(clean.thumbnail)
    assert (clean.width, clean.height) == (640, 480)


def test_a_file_larger_than_the_limit_is_refused_before_decoding() -> None:
    with pytest.raises(ImageRefusedError) as refused:
        clean_image(oversized_jpeg(200_000), 200_000)
    assert refused.value.reason == TOO_LARGE


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.7 not a photo",
        b"MZ\x90\x00 an executable",
        b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
        b"GIF89a" + b"\x00" * 64,
        photo_bytes("JPEG")[:200],  # cut off: announces a JPEG, cannot be decoded
    ],
    ids=["pdf", "exe", "svg", "gif", "truncated"],
)
def test_anything_that_is_not_a_decodable_photo_is_refused(data: bytes) -> None:
    with pytest.raises(ImageRefusedError) as refused:
        clean_image(data, LIMIT)
    assert refused.value.reason == NOT_AN_IMAGE


def test_bytes_appended_after_the_image_do_not_survive() -> None:
    polyglot = photo_bytes("JPEG") + b"PK\x03\x04 hidden zip payload"
    assert sniff(polyglot) == "jpeg"
    assert b"hidden zip payload" not in clean_image(polyglot, LIMIT).data


def test_the_store_uses_random_private_names_and_refuses_other_paths(tmp_path) -> None:
    store = MediaStore(tmp_path / "media")
    first, second = store.save(b"one"), store.save(b"two")
    assert first != second and len(first) == 36
    assert (tmp_path / "media").stat().st_mode & 0o777 == 0o700
    assert (tmp_path / "media" / first).stat().st_mode & 0o777 == 0o600
    assert store.read(first) == b"one"
    with pytest.raises(ValueError):
        store.read("../aftercare.db")
    assert store.delete(first) and not store.delete(first)
