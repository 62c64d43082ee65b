"""Photos that visitors upload: read safely (size checked before decoding) and cropped to a square."""

import numpy as np
import torch
from PIL import Image

MAX_PIXELS = 40_000_000  # refuse decompression bombs before decoding (PIL warns at ~89 M)
MAX_SIDE = 512  # photos are centre-cropped and resized to at most this side for the page


def load_photo(image, max_side: int = MAX_SIDE) -> torch.Tensor:
    """A PIL image, a path or an HxWx3 uint8 array -> (3, S, S) in [-1, 1], centre-cropped to a
    square of side S = min(shorter side, max_side), S a multiple of 4. ValueError for non-images."""
    if isinstance(image, np.ndarray):
        if image.ndim != 3 or image.shape[2] not in (3, 4) or image.dtype != np.uint8:
            raise ValueError(f"expected an RGB image array, got shape {image.shape} and type {image.dtype}")
        image = Image.fromarray(image)
    elif not isinstance(image, Image.Image):
        try:
            image = Image.open(image)  # reads the header only: the size is checked before decoding
        except Image.DecompressionBombError:
            raise ValueError("the image is too large: upload one under 40 megapixels") from None
        except (OSError, ValueError):  # PIL's UnidentifiedImageError is an OSError
            raise ValueError("this file is not an image that can be read: use PNG, JPEG or WebP") from None
    if image.width * image.height > MAX_PIXELS:
        raise ValueError(f"the image is too large ({image.width}x{image.height}): "
                         f"upload one under {MAX_PIXELS // 1_000_000} megapixels")
    if min(image.size) < 16:
        raise ValueError(f"the image is too small ({image.width}x{image.height}); 16x16 is the minimum")
    try:
        rgb = image.convert("RGB")  # decodes the pixels
    except (OSError, ValueError):
        raise ValueError("the image file is damaged or truncated and cannot be decoded") from None
    side = min(rgb.size)
    left, top = (rgb.width - side) // 2, (rgb.height - side) // 2
    out = max(16, min(side, max_side) // 4 * 4)
    rgb = rgb.crop((left, top, left + side, top + side)).resize((out, out), Image.LANCZOS)
    return torch.from_numpy(np.asarray(rgb).copy()).permute(2, 0, 1).float() / 127.5 - 1
