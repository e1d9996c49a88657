"""Uploaded images made safe to serve: decoded, bounded, re-encoded as PNG.

An upload is never stored as sent: Pillow decodes it (PNG, JPEG or WebP only, recognised by
their content, not their name), refuses what is too large to decode safely, scales it down to
fit a box and writes a fresh PNG. What is stored carries no metadata, no script (SVG is
refused: it can run one when opened on its own) and nothing that another format could read.
"""

from __future__ import annotations

import hashlib
import io
from typing import NamedTuple

from .errors import Invalid
from .i18n import N_

FORMATS = ("PNG", "JPEG", "WEBP")
MAX_BYTES = 2_000_000
UPLOAD_LIMIT = MAX_BYTES + 100_000  # a request carrying one image and a form's few fields
MAX_SIDE = 6_000  # pixels, before decoding: bigger is refused (a decompression bomb, or a poster)


class Image(NamedTuple):
    data: bytes  # PNG
    width: int
    height: int

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.data).hexdigest()[:16]


def _refuse(field: str, message) -> Invalid:
    return Invalid(N_("The image cannot be used."), code="invalid_image", errors={field: [message]})


def normalise_image(data: bytes, *, box: tuple[int, int], field: str = "logo") -> Image:
    """The upload as a PNG fitting ``box`` (width, height), or ``Invalid`` saying why not."""
    from PIL import Image as PILImage
    from PIL import UnidentifiedImageError

    if not data:
        raise _refuse(field, N_("Choose an image file."))
    if len(data) > MAX_BYTES:
        raise _refuse(field, N_("At most 2 MB."))
    try:
        image = PILImage.open(io.BytesIO(data), formats=FORMATS)
    except PILImage.DecompressionBombError:  # its header claims billions of pixels
        raise _refuse(field, N_("At most 6,000 pixels on each side.")) from None
    except (UnidentifiedImageError, OSError, ValueError):
        raise _refuse(field, N_("A PNG, JPEG or WebP image.")) from None
    if max(image.size) > MAX_SIDE or min(image.size) < 1:
        raise _refuse(field, N_("At most 6,000 pixels on each side."))
    try:
        image.draft("RGB", (box[0] * 2, box[1] * 2))  # JPEG: decode at a smaller scale
        image.load()
    except (OSError, ValueError, PILImage.DecompressionBombError):
        raise _refuse(field, N_("A PNG, JPEG or WebP image.")) from None
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    image = image.convert("RGBA" if has_alpha else "RGB")
    image.thumbnail(box, PILImage.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return Image(out.getvalue(), image.width, image.height)
