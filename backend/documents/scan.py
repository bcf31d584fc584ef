"""Scanned paper and phone photos: images combined into one PDF, in the order given."""

from __future__ import annotations

import io
import warnings
from functools import cache

from PIL import Image, ImageOps, UnidentifiedImageError

from backend.documents import intake_errors as errors

# 60 megapixels covers an A3 scan at 600 dpi; more is a decompression bomb, not a document.
MAX_PIXELS = 60_000_000
MAX_FRAMES = 500
ACCEPTED = {"JPEG", "PNG", "TIFF", "HEIF", "MPO"}
SCAN_DPI = 200


@cache
def _open_heif_too() -> None:
    """Teach Pillow HEIF/HEIC (iPhone photos) when the first scan arrives, not in every server
    process at start (pillow-heif and libheif are ~3 MB resident)."""
    import pillow_heif

    pillow_heif.register_heif_opener()


def _frames(data: bytes, name: str) -> list[Image.Image]:
    _open_heif_too()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.format not in ACCEPTED:
                raise errors.NotImageError(name)
            frames: list[Image.Image] = []
            for index in range(getattr(image, "n_frames", 1)):
                if index >= MAX_FRAMES:
                    raise errors.TooManyPagesError(name, MAX_FRAMES)
                image.seek(index)
                if image.width * image.height > MAX_PIXELS:
                    raise errors.DecompressionBombError(name)
                frame = ImageOps.exif_transpose(image.copy())  # phone photos carry rotation
                frames.append(frame.convert("L" if frame.mode in {"1", "L", "I;16"} else "RGB"))
            return frames
    except errors.IntakeError:
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise errors.DecompressionBombError(name) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError):
        raise errors.NotImageError(name) from None


def images_to_pdf(images: list[tuple[str, bytes]], *, max_pages: int) -> tuple[bytes, int]:
    """Combine (name, bytes) images, multi-page TIFFs included, into one PDF; returns it and
    its page count."""
    pages: list[Image.Image] = []
    for name, data in images:
        pages.extend(_frames(data, name))
        if len(pages) > max_pages:
            raise errors.TooManyPagesError(name, max_pages)
    if not pages:
        raise errors.NotImageError("(không có ảnh)")
    out = io.BytesIO()
    first, rest = pages[0], pages[1:]
    first.save(out, format="PDF", save_all=True, append_images=rest, resolution=SCAN_DPI)
    return out.getvalue(), len(pages)
