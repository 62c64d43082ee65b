"""Photos that visitors upload: read safely (size checked before decoding, EXIF orientation applied),
the face found and framed the way the face models' training photos are, and a model's change pasted
back into the full photo with a feathered edge.

Faces are found by OpenCV's Haar cascade for frontal faces, which ships inside the
opencv-python-headless 4.x wheel (cv2.data; 5.x no longer bundles it): a few hundred kilobytes, no
download, fast on a CPU. The framing is LFW's face-plus-hair crop, calibrated once on the LFW
training crops: there the detector's box is 81 px wide and centred 10 px below the middle of the
128 px crop, so a crop is FRAMING_SIDE box widths wide, its centre FRAMING_RAISE box widths above the
box's (weights/cyclegan_real_hair/card.md).
"""

import functools
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps

from ..images import resize_square

MAX_PIXELS = 40_000_000  # refuse decompression bombs before decoding (PIL warns at ~89 M)
MAX_SIDE = 512  # photos are centre-cropped and resized to at most this side for the page
WORK_SIDE = 2048  # larger photos are scaled down to this longest side before a model changes them
DETECT_SIDE = 640  # faces are searched in a copy at most this large (the cascade is fast there)
FRAMING_SIDE, FRAMING_RAISE = 128 / 81, 10 / 81
MIN_FACE = 0.06  # of the detection copy's shorter side: smaller boxes are not faces worth converting


class NoFaceError(ValueError):
    """The photo shows no face the detector can find."""


def open_photo(image) -> Image.Image:
    """A PIL image, a path or an HxWx3 uint8 array -> an RGB PIL image, turned upright by its EXIF
    orientation. ValueError for non-images, damaged files and sizes outside 16 px .. MAX_PIXELS."""
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
        return ImageOps.exif_transpose(image).convert("RGB")  # decodes the pixels
    except (OSError, ValueError, SyntaxError):
        raise ValueError("the image file is damaged or truncated and cannot be decoded") from None


def to_tensor(image: Image.Image) -> torch.Tensor:
    return torch.from_numpy(np.asarray(image).copy()).permute(2, 0, 1).float() / 127.5 - 1


def load_photo(image, max_side: int = MAX_SIDE) -> torch.Tensor:
    """A photo -> (3, S, S) in [-1, 1], centre-cropped to a square of side S = min(shorter side,
    max_side), S a multiple of 4 (the fallback when no face is framed)."""
    rgb = open_photo(image)
    side = min(rgb.size)
    left, top = (rgb.width - side) // 2, (rgb.height - side) // 2
    out = max(16, min(side, max_side) // 4 * 4)
    return to_tensor(rgb.crop((left, top, left + side, top + side)).resize((out, out), Image.LANCZOS))


@functools.cache
def _cascade():
    import cv2  # opencv-python-headless 4.x

    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    if cascade.empty():
        raise RuntimeError("OpenCV's Haar cascade is missing: opencv-python-headless 4.x has it, 5.x not")
    return cascade


def find_faces(photo: Image.Image) -> list[tuple[float, float, float, float]]:
    """Frontal faces as (x, y, width, height) in photo pixels, the largest first."""
    scale = min(1.0, DETECT_SIDE / max(photo.size))
    small = photo if scale == 1 else photo.resize((round(photo.width * scale), round(photo.height * scale)),
                                                  Image.BILINEAR)
    grey = np.asarray(small.convert("L"))
    least = max(20, int(MIN_FACE * min(grey.shape)))
    boxes = _cascade().detectMultiScale(grey, scaleFactor=1.1, minNeighbors=5, minSize=(least, least))
    faces = [tuple(float(v) / scale for v in box) for box in (boxes if len(boxes) else [])]
    return sorted(faces, key=lambda b: -b[2] * b[3])


@dataclass
class FramedFace:
    photo: torch.Tensor  # (3, H, W) in [-1, 1]: the upright photo (at most WORK_SIDE)
    box: tuple[int, int, int]  # (left, top, side) of the square crop in photo pixels (may overhang)
    face: torch.Tensor  # (3, size, size) in [-1, 1]: the crop at the model's size
    found: bool  # False: no face was found and the crop is the centred square
    faces: list[tuple[float, float, float, float]]  # every face the detector found, the largest first


def _upright_photo(image) -> Image.Image:
    photo = open_photo(image)
    if max(photo.size) > WORK_SIDE:
        scale = WORK_SIDE / max(photo.size)
        photo = photo.resize((round(photo.width * scale), round(photo.height * scale)), Image.LANCZOS)
    return photo


def _centred_box(photo: Image.Image) -> tuple[int, int, int]:
    side = min(photo.size)
    return (photo.width - side) // 2, (photo.height - side) // 2, side


def frame_face(image, size: int, face: int = 0, centred_if_none: bool = False) -> FramedFace:
    """The face number `face` (0 = the largest) framed like the training photos and resized to size,
    with where it came from. No face: NoFaceError, or the centred square if centred_if_none."""
    photo = _upright_photo(image)
    faces = find_faces(photo)
    if faces and not 0 <= face < len(faces):
        raise ValueError(f"face number must be from 1 to {len(faces)}: the photo shows {len(faces)} faces")
    if faces:
        x, y, w, h = faces[face]
        side = round(FRAMING_SIDE * w)
        centre_x, centre_y = x + w / 2, y + h / 2 - FRAMING_RAISE * w
        box = (round(centre_x - side / 2), round(centre_y - side / 2), side)
    elif centred_if_none:
        box = _centred_box(photo)
    else:
        raise NoFaceError("no face was found in the photo: upload a photo of a face seen from the front, or "
                          "tick 'Use a centred crop when no face is found'")
    pixels = to_tensor(photo)
    return FramedFace(pixels, box, _crop(pixels, box, size), bool(faces), faces)


def frame_centred(image, size: int) -> FramedFace:
    """The photo's centred square resized to size, without looking for a face (drawn faces, which
    fill their square as the training renders did)."""
    photo = _upright_photo(image)
    pixels, box = to_tensor(photo), _centred_box(photo)
    return FramedFace(pixels, box, _crop(pixels, box, size), False, [])


def _crop(photo: torch.Tensor, box: tuple[int, int, int], size: int) -> torch.Tensor:
    """The square box of photo (edge pixels repeated where it overhangs), area-resized to size."""
    left, top, side = box
    _, height, width = photo.shape
    pad = [max(0, -left), max(0, left + side - width), max(0, -top), max(0, top + side - height)]
    padded = F.pad(photo[None], pad, mode="replicate") if any(pad) else photo[None]
    x, y = left + pad[0], top + pad[2]
    return resize_square(padded[:, :, y : y + side, x : x + side], size)[0].clamp(-1, 1)


def feather(side: int, edge: float = 0.15) -> torch.Tensor:
    """(side, side) weights: 1 inside, falling smoothly (raised cosine) to 0 over the outer `edge` of the
    square, so a pasted change has no visible seam."""
    t = torch.linspace(0, 1, side)
    ramp = torch.clamp(torch.minimum(t, 1 - t) / edge, 0, 1)
    ramp = (1 - torch.cos(torch.pi * ramp)) / 2
    return ramp[:, None] * ramp[None, :]


def paste_change(framed: FramedFace, change: torch.Tensor) -> torch.Tensor:
    """The photo with a model's change (3, s, s) of the framed face added inside its box, enlarged to
    the box (bicubic) and feathered at the edges; pixels outside the box are the photo's own."""
    left, top, side = framed.box
    change = F.interpolate(change[None], size=(side, side), mode="bicubic", align_corners=False)[0]
    change = change * feather(side)
    out = framed.photo.clone()
    _, height, width = out.shape
    x0, y0, x1, y1 = max(0, left), max(0, top), min(width, left + side), min(height, top + side)
    if x0 < x1 and y0 < y1:
        out[:, y0:y1, x0:x1] += change[:, y0 - top : y1 - top, x0 - left : x1 - left]
    return out.clamp(-1, 1)
