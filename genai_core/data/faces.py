"""Labelled faces: a procedural face renderer the project owns, and loaders for real labelled faces.

No labelled face photos can be shipped or downloaded here, so the attribute models (the referee and
the conditional WGAN-GP of book ch. 5) learn from faces drawn by `render_faces`: every attribute is a
parameter of the drawing, so the labels are exact, and each one is drawn independently of the
others (eyeglasses, hair colour and sex are independent coin flips; glasses are drawn last and only
change the pixels under the frames). All other parameters are continuous random numbers (face shape,
skin tone, pose, lighting, expression, colours), so no two faces are alike and a GAN has to learn
the distribution rather than memorise a few templates.

Rendering is vectorised over a batch with torch: each layer is a signed distance field on a
coordinate grid, turned into coverage with a one-pixel linear ramp (analytic antialiasing), and
layers are composited back to front. Measured on one thread of this busy CPU: ~10,000 faces/s at
32x32, ~1,400/s at 64x64, ~250/s at 128x128 (`python -m benchmarks.cwgan`, last table).

Real data (selected with data.source): "folders" is the Kaggle "glasses or no glasses" layout
(glasses/ and no_glasses/ sub-folders); "celeba" is img_align_celeba/ + list_attr_celeba.txt (the
table may be read straight from a .zip).
"""

import io
import math
import zipfile
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..images import to_uint8
from .archive import IMAGE_SUFFIXES, decode_square, read_images

HAIR_COLOURS = ("blond", "black", "brown", "red")
HAIR_RGB = torch.tensor([[0.86, 0.72, 0.42], [0.09, 0.08, 0.08], [0.38, 0.23, 0.12], [0.72, 0.27, 0.10]])
FRAME_STYLES = ("round", "rectangular", "aviator")
LABELS = ("eyeglasses", "hair_colour", "male")  # the attributes the referee predicts
# where both framings (the renderer's and the photo crops') put the eyes, and so any glasses: rows a
# quarter to five eighths down, all but the outer eighths across
EYE_ROWS, EYE_COLUMNS = (1 / 4, 5 / 8), (1 / 8, 7 / 8)


# ---------------------------------------------------------------- attributes


def eye_band(size: int) -> torch.Tensor:
    """(size, size) float: 1 over the band of the eyes (EYE_ROWS x EYE_COLUMNS), 0 elsewhere."""
    band = torch.zeros(size, size)
    (top, bottom), (left, right) = ((round(a * size), round(b * size)) for a, b in (EYE_ROWS, EYE_COLUMNS))
    band[top:bottom, left:right] = 1
    return band


def sample_attributes(n: int, seed: int, **fixed) -> dict[str, torch.Tensor]:
    """n random attribute sets, deterministic from seed. `fixed` pins attributes (scalar or (n,) values),
    e.g. eyeglasses=1, male=0, hair_colour=2. Every value is a float tensor of shape (n,)."""
    rng = np.random.default_rng(seed)
    u = lambda lo, hi: rng.uniform(lo, hi, n)  # noqa: E731
    male = rng.random(n) < 0.5
    a = {
        # the labelled attributes: independent of each other
        "eyeglasses": (rng.random(n) < 0.5).astype(float),
        "hair_colour": rng.integers(0, 4, n).astype(float),
        "male": male.astype(float),
        # glasses details (used only when eyeglasses=1)
        "frame_style": rng.integers(0, 3, n).astype(float),
        "frame_thickness": u(0.06, 0.1),
        "frame_shade": u(0, 1) ** 2,  # 0 black ... 1 light metal; mostly dark
        "lens_size": u(0.85, 1.15),
        "lens_tint": u(0.0, 0.35),
        # hair: length overlaps between sexes; the male style has a higher hairline and no fringe
        "hair_length": np.where(male, u(0.0, 0.45), u(0.25, 1.0)),
        "hair_part": u(-0.6, 0.6),
        "hair_shade": u(-0.08, 0.08),
        "fringe": np.where(male, 0.0, u(0, 1)),
        # male cues beyond hair: beard (most men), squarer jaw, thicker brows; women: lipstick, eyeliner
        "beard": np.where(male & (rng.random(n) < 0.7), u(0.35, 0.95), 0.0),
        "jaw": np.where(male, u(2.3, 3.0), u(1.9, 2.3)),
        "brow": np.where(male, u(0.075, 0.1), u(0.04, 0.06)),
        "lipstick": np.where(male, 0.0, u(0.5, 1.0)),
        # face and skin
        "skin": u(0, 1),
        "face_width": u(0.5, 0.6),
        "face_ratio": u(1.15, 1.32),
        "eye_size": u(0.85, 1.15),
        "eye_spacing": u(0.34, 0.42),
        "iris": rng.integers(0, 4, n).astype(float),
        "smile": u(-0.4, 1.0),
        "mouth_open": np.where(rng.random(n) < 0.3, u(0, 1), 0.0),
        # pose, lighting, clothes and background
        "x": u(-0.06, 0.06),
        "y": u(-0.12, -0.02),
        "roll": u(-0.15, 0.15),
        "yaw": u(-1, 1),
        "light_angle": u(0, 2 * math.pi),
        "light": u(0.0, 0.35),
        "brightness": u(0.85, 1.12),
        "cloth_r": u(0, 1),
        "cloth_g": u(0, 1),
        "cloth_b": u(0, 1),
        "bg_r": u(0.1, 0.95),
        "bg_g": u(0.1, 0.95),
        "bg_b": u(0.1, 0.95),
        "bg_gradient": u(-0.3, 0.3),
    }
    out = {k: torch.as_tensor(v, dtype=torch.float32) for k, v in a.items()}
    for key, value in fixed.items():
        if key not in out:
            raise ValueError(f"unknown face attribute {key!r}")
        out[key] = torch.as_tensor(value, dtype=torch.float32).expand(n).clone()
    return out


def labels_of(attributes: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The referee's targets: eyeglasses (0/1 float), hair_colour (0..3 long), male (0/1 float)."""
    return {
        "eyeglasses": attributes["eyeglasses"].clone(),
        "hair_colour": attributes["hair_colour"].long(),
        "male": attributes["male"].clone(),
    }


# ---------------------------------------------------------------- drawing primitives
# Distances are in face units (1 = half the face width); `px` is one pixel in the same units.


def _cover(sdf: torch.Tensor, px: torch.Tensor) -> torch.Tensor:
    """Signed distance -> coverage in [0, 1] with a one-pixel ramp: cheap analytic antialiasing."""
    return (0.5 - sdf / px).clamp(0, 1)


def _ellipse(x, y, cx, cy, rx, ry):
    """Approximate signed distance to an ellipse (exact for circles, good enough for drawing)."""
    rx, ry = torch.as_tensor(rx, dtype=torch.float32), torch.as_tensor(ry, dtype=torch.float32)
    return (torch.sqrt(((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2) - 1) * torch.minimum(rx, ry)


def _superellipse(x, y, rx, ry, p):
    rx, ry = torch.as_tensor(rx, dtype=torch.float32), torch.as_tensor(ry, dtype=torch.float32)
    r = ((x / rx).abs() ** p + (y / ry).abs() ** p) ** (1 / p)
    return (r - 1) * torch.minimum(rx, ry)


def _box(x, y, cx, cy, hx, hy, radius):
    qx, qy = (x - cx).abs() - hx + radius, (y - cy).abs() - hy + radius
    outside = torch.sqrt(qx.clamp(min=0) ** 2 + qy.clamp(min=0) ** 2)
    return outside + torch.maximum(qx, qy).clamp(max=0) - radius


def _segment(x, y, ax, ay, bx, by):
    """Unsigned distance to the segment a-b."""
    px, py, dx, dy = x - ax, y - ay, bx - ax, by - ay
    t = ((px * dx + py * dy) / (dx * dx + dy * dy + 1e-9)).clamp(0, 1)
    return torch.sqrt((px - t * dx) ** 2 + (py - t * dy) ** 2)


def _paint(image, alpha, colour):
    """Composite a layer in place: image (B,3,H,W), alpha (B,H,W), colour (B,3) or (B,3,H,W)."""
    if colour.dim() == 2:
        colour = colour[:, :, None, None]
    return image.lerp_(colour.expand_as(image), alpha[:, None].expand_as(image))  # one pass, no temporaries


def _col(*values):
    return torch.stack(values, dim=1)


# ---------------------------------------------------------------- the renderer


def _frame_sdf(x, y, cx, cy, a):
    """Signed distance to one lens outline of the style in a['frame_style'] (per image)."""
    s = a["lens_size"][:, None, None]
    round_ = _ellipse(x, y, cx, cy, 0.2 * s, 0.2 * s)
    rect = _box(x, y, cx, cy, 0.25 * s, 0.16 * s, 0.05 * s)
    aviator = _ellipse(x, y, cx, cy + 0.04 * s, 0.24 * s, 0.21 * s)
    style = a["frame_style"][:, None, None]
    return torch.where(style == 0, round_, torch.where(style == 1, rect, aviator))


def render_faces(attributes: dict[str, torch.Tensor], size: int = 64, supersample: int = 1) -> torch.Tensor:
    """Attributes (from sample_attributes) -> images (N, 3, size, size) in [-1, 1]."""
    a = {k: v.float() for k, v in attributes.items()}
    n = len(a["eyeglasses"])
    res = size * supersample
    lin = (torch.arange(res, dtype=torch.float32) + 0.5) / res * 2 - 1
    gy, gx = torch.meshgrid(lin, lin, indexing="ij")  # image coordinates in [-1, 1], y down
    col = lambda key: a[key][:, None, None]  # noqa: E731  (B,1,1) for broadcasting on the grid
    unit = col("face_width")  # face units: 1 = half the face width
    # head-local coordinates: translate, roll, scale to face units
    dx, dy = gx - col("x"), gy - col("y")
    cos, sin = torch.cos(col("roll")), torch.sin(col("roll"))
    x, y = (cos * dx + sin * dy) / unit, (-sin * dx + cos * dy) / unit
    px = 2.0 / res / unit  # one pixel in face units
    ratio = col("face_ratio")

    # background: a colour with a vertical gradient
    bg = _col(a["bg_r"], a["bg_g"], a["bg_b"])[:, :, None, None]
    image = (bg * (1 + a["bg_gradient"][:, None, None, None] * gy)).expand(n, 3, res, res).clamp(0, 1)

    skin = (
        torch.tensor([0.96, 0.80, 0.69]) * (1 - a["skin"][:, None])
        + torch.tensor([0.36, 0.22, 0.14]) * a["skin"][:, None]
    )
    hair = (HAIR_RGB[a["hair_colour"].long()] * (1 + a["hair_shade"][:, None])).clamp(0, 1)
    length = col("hair_length")

    # long hair behind the head: a rounded slab from the crown down to a length-dependent end
    hair_end = 0.2 + 1.6 * length
    back = torch.minimum(
        _ellipse(x, y, 0.0, -0.12 * ratio, 1.18, ratio * 1.05 + 0 * x),
        _box(x, y, 0.0, (hair_end - 0.4) / 2, 1.2 + 0.15 * length, (hair_end + 0.4) / 2, 0.35),
    )
    image = _paint(image, _cover(back, px) * (length > 0.2).float(), hair)

    # clothes and neck (image coordinates: the body does not roll with the head)
    cloth = _col(a["cloth_r"], a["cloth_g"], a["cloth_b"]) * 0.8 + 0.1
    ux, uy = (gx - col("x")) / unit, (gy - 1.35) / unit
    image = _paint(image, _cover(_ellipse(ux, uy, 0.0, 0.0, 2.0 + 0 * ux, 0.9 + 0 * ux), px), cloth)
    neck = _box(ux, (gy - col("y")) / unit, 0.0, ratio + 0.4, 0.45 + 0 * ux, 0.6 + 0 * ux, 0.1)
    image = _paint(image, _cover(neck, px), skin * 0.85)

    # ears, then the face (superellipse: a larger exponent gives a squarer jaw)
    zero = torch.zeros_like(unit)
    for side in (-1, 1):
        ear = _ellipse(x, y, side * 0.98 + zero, 0.05 + zero, 0.15 + zero, 0.26 + zero)
        image = _paint(image, _cover(ear, px), skin * 0.92)
    face = _superellipse(x, y, 1.0 + zero, ratio, col("jaw"))
    face_alpha = _cover(face, px)
    image = _paint(image, face_alpha, skin)

    # facial features move sideways with the yaw (a cheap stand-in for turning the head)
    fx = x - 0.12 * col("yaw")
    eye_y = -0.02 * ratio
    mouth_y = 0.6 * ratio

    # beard: the lower face below a curve through the cheeks, hair-coloured, with random density
    beard_line = 0.25 * ratio + 0.25 * fx**2 - 0.1
    beard = torch.maximum(face, (beard_line - y) * 1.0)
    image = _paint(image, _cover(beard, px) * col("beard"), hair * 0.85)

    # nose: a soft shadow
    nose = _ellipse(x, y, 0.2 * col("yaw"), 0.3 * ratio + zero, 0.09 + zero, 0.13 + zero)
    image = _paint(image, _cover(nose, px) * 0.45, skin * 0.72)

    # mouth: the lips are a band around a parabola whose corners rise with the smile
    width = 0.32 + 0.06 * col("smile").clamp(min=0)
    t = (fx / width).clamp(-1, 1)
    curve = mouth_y + 0.12 * col("smile") * (1 - t**2) - 0.06 * col("smile")
    opening = 0.14 * col("mouth_open") * (1 - t**2)
    lips = torch.maximum((y - curve).abs() - 0.045 - opening / 2, fx.abs() - width)
    lip_colour = (
        skin * 0.72 * (1 - a["lipstick"][:, None]) + torch.tensor([0.72, 0.12, 0.22]) * a["lipstick"][:, None]
    )
    image = _paint(image, _cover(lips, px), lip_colour)
    inside = torch.maximum((y - curve).abs() - opening / 2 + 0.01, fx.abs() - width * 0.85)
    image = _paint(image, _cover(inside, px) * (col("mouth_open") > 0.05).float(), _col(
        torch.full((n,), 0.25), torch.full((n,), 0.05), torch.full((n,), 0.07)))

    # eyes: white, iris, pupil; eyeliner (women) as a dark outline; brows above
    iris_rgb = torch.tensor([[0.35, 0.2, 0.1], [0.2, 0.4, 0.7], [0.3, 0.5, 0.3], [0.12, 0.08, 0.06]])
    iris_colour = iris_rgb[a["iris"].long()]
    open_ = 1 - 0.3 * col("smile").clamp(min=0)  # smiling narrows the eyes
    spacing = col("eye_spacing")
    eye_rx = 0.15 * col("eye_size")
    eye_ry = 0.085 * col("eye_size") * open_
    brow_thick = col("brow")
    brow_colour = hair * 0.7 + 0.05
    for side in (-1, 1):
        ex = side * spacing
        white = _ellipse(fx, y, ex, eye_y + zero, eye_rx, eye_ry)
        liner = (white.abs() - 0.012 - 0.03 * col("lipstick")).clamp(min=-1)
        image = _paint(image, _cover(liner, px) * 0.8, torch.zeros(n, 3) + 0.1)
        image = _paint(image, _cover(white, px), torch.zeros(n, 3) + 0.95)
        pupil_x = ex + 0.03 * col("yaw")
        iris = torch.maximum(_ellipse(fx, y, pupil_x, eye_y + zero, 0.075 + zero, 0.075 + zero), white)
        image = _paint(image, _cover(iris, px), iris_colour)
        pupil = _ellipse(fx, y, pupil_x, eye_y + zero, 0.035 + zero, 0.035 + zero)
        image = _paint(image, _cover(pupil, px), torch.zeros(n, 3) + 0.05)
        tilt = 0.05 * col("smile")
        brow = _segment(fx, y, ex - side * 0.16, eye_y - 0.22 + tilt, ex + side * 0.14, eye_y - 0.25 - tilt)
        image = _paint(image, _cover(brow - brow_thick / 2, px), brow_colour)

    # hair on top of the face: inside the hair cap and above a hairline (men: higher, no fringe)
    cap = _ellipse(x, y, 0.0, -0.08 * ratio, 1.1 + zero, ratio * 1.06)
    part = col("hair_part")
    fringe = col("fringe")
    hairline = (
        -0.55 * ratio
        + 0.35 * fringe * (1 - ((x - part) / 1.1) ** 2).clamp(min=0)
        - 0.12 * (1 - fringe) * x**2
    )
    top = torch.maximum(cap, y - hairline)
    # sides: hair falls beside the face down to its length
    sides = torch.maximum(
        torch.maximum(cap.clamp(max=0) * 0 + (0.86 - x.abs()), y - (hair_end - 0.1)), -face - 0.4
    )
    sides = torch.maximum(sides, _ellipse(x, y, 0.0, 0.0 + zero, 1.25 + zero, ratio * 1.6))
    sides = torch.maximum(sides, -0.45 * ratio - y)  # start below the crown: the cap covers the top
    hair_alpha = torch.maximum(_cover(top, px), _cover(sides, px) * (length > 0.35).float())
    image = _paint(image, hair_alpha, hair)

    # eyeglasses last, so toggling them changes only the pixels under the frames and lenses
    glasses = col("eyeglasses")
    shade = a["frame_shade"][:, None]
    frame_colour = torch.tensor([0.05, 0.04, 0.04]) * (1 - shade) + torch.tensor([0.75, 0.68, 0.45]) * shade
    half = col("frame_thickness") / 2
    lens_alpha, frame = torch.zeros_like(x), torch.full_like(x, 10.0)
    for side in (-1, 1):
        cx = side * spacing + 0.02 * col("yaw")
        outline = _frame_sdf(fx, y, cx, eye_y + zero, a)
        lens_alpha = torch.maximum(lens_alpha, _cover(outline, px))
        frame = torch.minimum(frame, outline.abs() - half)
        edge = side * (spacing + 0.24 * col("lens_size"))
        arm = _segment(fx, y, edge, eye_y - 0.04 + zero, side * 1.0 + 0.1 * col("yaw"), eye_y - 0.06 + zero)
        frame = torch.minimum(frame, arm - half)
    inner = spacing - 0.2 * col("lens_size")
    bridge = _segment(fx, y, -inner, eye_y - 0.05 + zero, inner, eye_y - 0.05 + zero)
    frame = torch.minimum(frame, bridge - half)
    image = _paint(
        image, lens_alpha * col("lens_tint") * glasses, torch.zeros(n, 3) + torch.tensor([0.55, 0.65, 0.75])
    )
    image = _paint(image, _cover(frame, px) * glasses, frame_colour)

    # lighting: a directional ramp over the person, then a global exposure
    person = torch.maximum(face_alpha, hair_alpha)[:, None]
    ramp = torch.cos(col("light_angle")) * gx + torch.sin(col("light_angle")) * gy
    image = image * (1 + person * (col("light") * ramp)[:, None])
    image = image * a["brightness"][:, None, None, None]
    if supersample > 1:
        image = F.avg_pool2d(image, supersample)
    return (image.clamp(0, 1) * 2 - 1).contiguous()


def render_batch(n: int, seed: int, size: int = 64, chunk: int = 256, supersample: int = 1, **fixed):
    """n faces and their attributes, deterministic from seed; rendered in chunks to bound memory."""
    attributes = sample_attributes(n, seed, **fixed)
    images = torch.cat(
        [
            render_faces({k: v[i : i + chunk] for k, v in attributes.items()}, size, supersample)
            for i in range(0, n, chunk)
        ]
    )
    return images, attributes


# ---------------------------------------------------------------- one entry point for training code


def load_labelled_faces(data_cfg, size: int, split: str, seed: int):
    """uint8 images (N, 3, size, size) and labels {name: (N,) tensor} for data_cfg.source.

    procedural: data_cfg.train_size / holdout renders (the held-out set uses another seed, so it
    shares no face with the training set); folders / celeba: real photos under data_cfg.path, the
    last `holdout` files (sorted by name) held out. Labels a source does not have are -1.
    """
    source = data_cfg.source
    if source == "procedural":
        n = int(data_cfg.train_size if split == "train" else data_cfg.holdout)
        # 2x supersampling: the one-pixel ramp alone leaves thin frames a little jagged at 32 px
        images, attributes = render_batch(
            n, seed + (0 if split == "train" else 7_777_777), size, supersample=2
        )
        return to_uint8(images), labels_of(attributes)
    if source == "folders":
        files, labels = glasses_folders(data_cfg.path)
    elif source == "celeba":
        files, labels = celeba_files(data_cfg.path, data_cfg.get("attributes"))
    else:
        raise ValueError(f"unknown data.source {source!r} (procedural, folders or celeba)")
    holdout = int(data_cfg.holdout)
    if not 0 < holdout < len(files):
        raise ValueError(f"data.holdout={holdout} must leave training images (found {len(files)})")
    keep = slice(0, len(files) - holdout) if split == "train" else slice(len(files) - holdout, None)
    images = torch.stack([decode_square(f, size) for f in files[keep]])
    return images, {k: v[keep] for k, v in labels.items()}


def glasses_folders(root) -> tuple[list[Path], dict[str, torch.Tensor]]:
    """Kaggle "glasses or no glasses": root/glasses/*.jpg and root/no_glasses/*.jpg."""
    root = Path(root) if root else None
    if root is None or not root.is_dir():
        raise FileNotFoundError(f"data.path {root} is not a folder with glasses/ and no_glasses/")
    files, flags = [], []
    for name, flag in (("glasses", 1.0), ("no_glasses", 0.0)):
        folder = root / name
        if not folder.is_dir():
            raise FileNotFoundError(f"{root} has no {name}/ sub-folder")
        found = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        files += found
        flags += [flag] * len(found)
    order = sorted(range(len(files)), key=lambda i: files[i].name)  # mix the classes before the split
    files = [files[i] for i in order]
    eyeglasses = torch.tensor([flags[i] for i in order])
    unknown = torch.full_like(eyeglasses, -1)
    return files, {"eyeglasses": eyeglasses, "hair_colour": unknown.long(), "male": unknown}


def parse_celeba_attributes(source) -> dict[str, dict[str, int]]:
    """list_attr_celeba.txt (path, or a .zip holding it, or its text) -> {file: {attribute: 0/1}}.

    The format: line 1 the number of images, line 2 the 40 attribute names, then one line per image:
    file name and 40 values of 1 or -1.
    """
    text = _celeba_text(source)
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) < 2:
        raise ValueError("the CelebA attribute table is empty")
    names = lines[1].split()
    table = {}
    for number, line in enumerate(lines[2:], start=3):
        fields = line.split()
        if len(fields) != len(names) + 1:  # the message quotes no content: the file may be anyone's
            raise ValueError(f"line {number} of the CelebA attribute table has {len(fields) - 1} values "
                             f"for {len(names)} attributes")
        table[fields[0]] = {k: int(int(v) > 0) for k, v in zip(names, fields[1:], strict=True)}
    return table


def _celeba_text(source) -> str:
    if isinstance(source, str) and "\n" in source:
        return source
    path = Path(source)
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as archive:
            member = next((m for m in archive.namelist() if m.endswith(".txt")), None)
            if member is None:
                raise ValueError(f"{path} holds no .txt attribute table")
            return io.TextIOWrapper(archive.open(member), encoding="utf-8").read()
    return path.read_text()


def celeba_labels(row: dict[str, int]) -> tuple[float, int, float]:
    """(eyeglasses, hair_colour index or -1, male) from one parsed CelebA row. CelebA has no red-hair
    attribute, so red is never a CelebA label; rows with no (or several) hair colours give -1."""
    hair = [i for i, key in enumerate(("Blond_Hair", "Black_Hair", "Brown_Hair")) if row.get(key)]
    return float(row["Eyeglasses"]), hair[0] if len(hair) == 1 else -1, float(row["Male"])


def celeba_files(root, attributes=None) -> tuple[list[Path], dict[str, torch.Tensor]]:
    """CelebA: images under root (or root/img_align_celeba) named as in the attribute table."""
    root = Path(root) if root else None
    if root is None or not root.is_dir():
        raise FileNotFoundError(f"data.path {root} is not a CelebA image folder")
    images = root / "img_align_celeba" if (root / "img_align_celeba").is_dir() else root
    table_path = attributes or next(
        (p for p in (root / "list_attr_celeba.txt", root / "list_attr_celeba.zip") if p.exists()), None
    )
    if table_path is None:
        raise FileNotFoundError("no list_attr_celeba.txt: set data.attributes to the .txt or .zip")
    table = parse_celeba_attributes(table_path)
    files, rows = [], []
    for name in sorted(table):
        if (images / name).is_file():
            files.append(images / name)
            rows.append(celeba_labels(table[name]))
    if not files:
        raise FileNotFoundError(f"none of the table's images are in {images}")
    glasses, hair, male = zip(*rows, strict=True)
    return files, {"eyeglasses": torch.tensor(glasses), "hair_colour": torch.tensor(hair),
                   "male": torch.tensor(male)}


def render_hair_twins(n: int, seed: int, size: int, source: str, target: str):
    """The same n faces drawn twice, with `source` and with `target` hair colour, and the hair mask
    (pixels where the two drawings differ: hair, brows, beard). Exact ground truth for judging a
    hair-colour translator: everything outside the mask should stay as it was."""
    hair = {name: float(i) for i, name in enumerate(HAIR_COLOURS)}
    attributes = sample_attributes(n, seed, hair_colour=hair[source])
    twin = {**attributes, "hair_colour": torch.full_like(attributes["hair_colour"], hair[target])}
    chunks = [
        (render_faces({k: v[i : i + 256] for k, v in a.items()}, size) for a in (attributes, twin))
        for i in range(0, n, 256)
    ]
    pairs = [tuple(pair) for pair in chunks]
    images = torch.cat([p[0] for p in pairs])
    twins = torch.cat([p[1] for p in pairs])
    hair_mask = (images - twins).abs().amax(1, keepdim=True) > 0.02
    return images, twins, hair_mask


# ---------------------------------------------------------------- unlabelled face photos (VAE)


def load_face_photos(path, size: int, split: str, holdout: int) -> torch.Tensor:
    """uint8 (N, 3, size, size) face photos from a .tar (read in place) or a folder, sorted by path.

    When the file names mark a split (test_* / train_*, as in real_faces_128.tar), "eval" is the
    test_* files; otherwise it is the last `holdout` files."""
    named = read_images(path)
    marked = [Path(name).name.lower().startswith("test") for name, _ in named]
    if any(marked) and not all(marked):
        keep = [m == (split == "eval") for m in marked]
    else:
        if not 0 < holdout < len(named):
            raise ValueError(f"data.holdout={holdout} must leave training images (found {len(named)})")
        keep = [(i >= len(named) - holdout) == (split == "eval") for i in range(len(named))]
    images = [decode_square(data, size) for (_, data), k in zip(named, keep, strict=True) if k]
    return torch.stack(images)


# ---------------------------------------------------------------- groups for attribute arithmetic

# (eyeglasses, male) of the groups used by the arithmetic presets
GROUPS = {
    "man with glasses": (1, 1),
    "man without glasses": (0, 1),
    "woman with glasses": (1, 0),
    "woman without glasses": (0, 0),
}
# preset: (a, b, c, intended result): result = mean(a) - mean(b) + mean(c)
PRESETS = {
    "man with glasses - man without glasses + woman without glasses": (
        "man with glasses", "man without glasses", "woman without glasses", "woman with glasses"),
    "woman with glasses - woman without glasses + man without glasses": (
        "woman with glasses", "woman without glasses", "man without glasses", "man with glasses"),
    "man with glasses - woman with glasses + woman without glasses": (
        "man with glasses", "woman with glasses", "woman without glasses", "man without glasses"),
    "woman without glasses - man without glasses + man with glasses": (
        "woman without glasses", "man without glasses", "man with glasses", "woman with glasses"),
}
