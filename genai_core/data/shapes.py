"""The shapes world: captioned scenes of one or two coloured shapes, for the small CLIP and VQGAN.

The thesis steers OpenAI's CLIP and a VQGAN trained on ImageNet; neither can be trained here, so
the text-to-image tab works in a world small enough to learn on one CPU thread and exact enough to
check: a plain background and one or two objects (circle, square or triangle, each in one of seven
colours); with two objects the caption names where the first is relative to the second
("a red circle above a blue square on a yellow background"). Within a scene every colour is
different, so each object is visible and can be found again by its colour.

Rendering is vectorised over a batch like `faces.render_faces`: every shape is a signed distance
field on a coordinate grid turned into coverage with a one-pixel ramp (analytic antialiasing).
Positions, sizes and colours are jittered so no two scenes are alike.

`check_image` reads a picture back (background from the border, each object as a blob of pixels
near its colour whose bounding-box fill ratio tells its shape, the relation from the blobs'
centroids), so a generated image can be scored against its prompt without any learned model.
"""

import re

import numpy as np
import torch
import torch.nn.functional as F

# RGB in [0, 1]; chosen far apart (nearest other colour >= 0.5 away) so a blurry image still reads
COLOURS = {
    "red": (0.90, 0.12, 0.12),
    "green": (0.13, 0.70, 0.20),
    "blue": (0.12, 0.28, 0.95),
    "yellow": (0.97, 0.88, 0.15),
    "purple": (0.58, 0.18, 0.78),
    "white": (0.96, 0.96, 0.96),
    "black": (0.06, 0.06, 0.06),
}
COLOUR_NAMES = tuple(COLOURS)
PALETTE = torch.tensor(list(COLOURS.values()))
SHAPES = ("circle", "square", "triangle")
RELATIONS = ("above", "below", "left of", "right of")
# how each relation reads in a caption, and its mirror image (A above B == B below A)
RELATION_PHRASE = {
    "above": "above",
    "below": "below",
    "left of": "to the left of",
    "right of": "to the right of",
}
OPPOSITE = {"above": "below", "below": "above", "left of": "right of", "right of": "left of"}
# words a user may type for the same thing; applied before parsing and tokenising
SYNONYMS = {
    "under": "below", "beneath": "below", "underneath": "below", "over": "above",
    "violet": "purple",
    "circles": "circle", "squares": "square", "triangles": "triangle", "disc": "circle", "disk": "circle",
}
FILLER = {"a", "an", "the"}  # articles carry no meaning in this world
WORDS = tuple(
    sorted(
        set(COLOUR_NAMES) | set(SHAPES) | FILLER
        | {"above", "below", "left", "right", "to", "of", "on", "background", "and", "with"}
    )
)
TWO_OBJECTS = 0.7  # share of scenes with two objects


# ---------------------------------------------------------------- scenes and captions


def sample_scenes(n: int, seed: int, two_objects: float = TWO_OBJECTS) -> list[dict]:
    """n random scenes, deterministic from seed. A scene: {"background": colour, "objects": [{"shape",
    "colour", "x", "y", "size"}, ...], "relation": None or where objects[0] is relative to objects[1],
    "jitter": small RGB offsets}. x, y are the centre in [-1, 1] (y down, like image rows); size is
    the half-extent."""
    rng = np.random.default_rng(seed)
    scenes = []
    for _ in range(n):
        count = 2 if rng.random() < two_objects else 1
        colours = rng.choice(len(COLOUR_NAMES), count + 1, replace=False)  # all different
        objects = [
            {
                "shape": SHAPES[rng.integers(3)],
                "colour": COLOUR_NAMES[c],
                "size": float(rng.uniform(0.2, 0.3)),
            }
            for c in colours[1:]
        ]
        relation = None
        if count == 1:
            objects[0]["x"], objects[0]["y"] = (float(v) for v in rng.uniform(-0.5, 0.5, 2))
        else:
            relation = RELATIONS[rng.integers(4)]
            # separation along the relation's axis, a little slack across it, the pair's centre jittered
            gap = rng.uniform(0.75, 1.0)
            across = rng.uniform(-0.15, 0.15, 2)
            centre = rng.uniform(-0.1, 0.1, 2)
            sign = -1 if relation in ("above", "left of") else 1  # first object at smaller x / y
            along = np.array([sign * gap / 2, -sign * gap / 2])
            vertical = relation in ("above", "below")
            for obj, a, c in zip(objects, along, across, strict=True):
                x, y = (c, a) if vertical else (a, c)
                obj["x"], obj["y"] = float(x + centre[0]), float(y + centre[1])
        scenes.append({
            "background": COLOUR_NAMES[colours[0]],
            "objects": objects,
            "relation": relation,
            "jitter": rng.uniform(-0.04, 0.04, (3, 3)).tolist(),  # background, object 1, object 2
        })
    return scenes


def _object_phrase(obj: dict, article: bool = True) -> str:
    return ("a " if article else "") + f"{obj['colour']} {obj['shape']}"


def caption(scene: dict, rng: np.random.Generator | None = None) -> str:
    """The canonical caption: "a red circle above a blue square on a yellow background".

    With rng, a random surface variant for training (the same scene said another way: articles
    dropped, "left of" for "to the left of", the mirrored relation with the objects swapped, or the
    background left out), so the text encoder learns meanings rather than one phrasing."""
    objects, relation, background = scene["objects"], scene.get("relation"), scene.get("background")
    article, short_relation, with_background = True, False, background is not None
    if rng is not None:
        article = rng.random() < 0.7
        short_relation = rng.random() < 0.3
        with_background = with_background and rng.random() < 0.85
        if relation is not None and rng.random() < 0.5:
            objects, relation = objects[::-1], OPPOSITE[relation]
    words = [_object_phrase(objects[0], article)]
    if relation is not None:
        words += [
            relation if short_relation else RELATION_PHRASE[relation],
            _object_phrase(objects[1], article),
        ]
    if with_background:
        words.append(f"on {'a ' if article else ''}{background} background")
    return " ".join(words)


def scene_key(spec: dict) -> tuple:
    """What a scene means, independent of phrasing: A below B is B above A."""
    objects, relation = spec["objects"], spec.get("relation")
    if relation in ("below", "right of"):
        objects, relation = objects[::-1], OPPOSITE[relation]
    return (spec.get("background"), tuple((o["colour"], o["shape"]) for o in objects), relation)


def normalise_words(text: str) -> list[str]:
    """Lower-case words with synonyms mapped ("under" -> "below"); punctuation and extra spaces dropped."""
    text = re.sub(r"\bon top of\b", "above", text.lower())
    return [SYNONYMS.get(w, w) for w in re.findall(r"[a-z]+", text)]


def unknown_words(text: str, known=WORDS) -> list[str]:
    """Words of text that are not in known (the world's words), in order, without repeats."""
    seen = []
    for word in normalise_words(text):
        if word not in known and word not in seen:
            seen.append(word)
    return seen


def _parse_object(words: list[str]) -> dict | None:
    if len(words) == 2 and words[0] in COLOURS and words[1] in SHAPES:
        return {"colour": words[0], "shape": words[1]}
    return None


def prompt_problem(text: str) -> str | None:
    """Why text is not a prompt of this world (a message for the user), or None when it is."""
    if not isinstance(text, str) or not text.strip():
        return "The prompt is empty."
    unknown = unknown_words(text)
    if unknown:
        return (f"Unknown word(s): {', '.join(unknown)}. The shapes world knows colours "
                f"({', '.join(COLOUR_NAMES)}), shapes ({', '.join(SHAPES)}) and relations "
                f"(above, below, to the left of, to the right of).")
    spec = _parse(normalise_words(text))
    if spec is None:
        return ('The prompt does not follow the world\'s grammar, e.g. "a red circle above a blue '
                'square on a yellow background" or "a green triangle on a white background".')
    colours = [o["colour"] for o in spec["objects"]]
    if len(set(colours)) < len(colours):
        return "The two objects need different colours."
    if spec["background"] in colours:
        return "An object cannot have the background's colour (it would be invisible)."
    return None


def parse_prompt(text: str) -> dict | None:
    """The scene a prompt asks for: {"background": colour or None (not said), "objects": [{"colour",
    "shape"}, ...], "relation": None or one of RELATIONS}; None when the text is outside the world
    (unknown words, another grammar, repeated colours). Accepts the variations people type: any case
    and spacing, with or without articles, "left of" / "to the left of", "under", "on top of"."""
    if prompt_problem(text) is not None:
        return None
    return _parse(normalise_words(text))


def _parse(words: list[str]) -> dict | None:
    words = [w for w in words if w not in FILLER]
    background = None
    if words and words[-1] == "background":  # "... on|with yellow background"
        if len(words) < 2 or words[-2] not in COLOURS:
            return None
        background, words = words[-2], words[:-2]
        if words and words[-1] in ("on", "with"):
            words = words[:-1]
    if len(words) == 2:
        obj = _parse_object(words)
        return None if obj is None else {"background": background, "objects": [obj], "relation": None}
    if len(words) < 5:
        return None
    first, rest = _parse_object(words[:2]), words[2:]
    second = _parse_object(rest[-2:])
    middle = [w for w in rest[:-2] if w not in ("to", "on")]  # "to the left of", "on the left of"
    if middle and middle[-1] == "of":
        middle = middle[:-1]
    relation = {("above",): "above", ("below",): "below", ("left",): "left of", ("right",): "right of"}.get(
        tuple(middle)
    )
    if first is None or second is None or relation is None:
        return None
    return {"background": background, "objects": [first, second], "relation": relation}


# ---------------------------------------------------------------- rendering


def _triangle_sdf(x, y, cx, cy, half):
    """An upward isosceles triangle filling the lower half of its 2*half box (fill ratio 0.5):
    the largest of the three edges' signed distances (exact near the edges, which is all the
    antialiasing ramp needs)."""
    top, bottom = cy - half, cy + half
    # the side edges go from (cx -/+ half, bottom) to (cx, top): normal (2, -1)/sqrt(5) for the right one
    slope = 1 / 5**0.5
    right = ((x - cx) * 2 - (y - top)) * slope
    left = (-(x - cx) * 2 - (y - top)) * slope
    return torch.maximum(torch.maximum(left, right), y - bottom)


def _shape_sdf(shape_ids, x, y, cx, cy, size):
    circle = torch.sqrt((x - cx) ** 2 + (y - cy) ** 2) - size
    half = size * 0.9  # squares a little smaller than their circle's box so areas stay comparable
    square = torch.maximum((x - cx).abs(), (y - cy).abs()) - half
    triangle = _triangle_sdf(x, y, cx, cy, size * 1.1)
    ids = shape_ids[:, None, None]
    return torch.where(ids == 0, circle, torch.where(ids == 1, square, triangle))


def render_scenes(scenes: list[dict], size: int = 64) -> torch.Tensor:
    """Scenes -> images (N, 3, size, size) float in [-1, 1], vectorised over the batch."""
    n = len(scenes)
    if n == 0:
        return torch.zeros(0, 3, size, size)
    px = 2.0 / size
    coords = (torch.arange(size, dtype=torch.float32) + 0.5) * px - 1
    y, x = coords[None, :, None], coords[None, None, :]
    jitter = torch.tensor([s["jitter"] for s in scenes], dtype=torch.float32)  # (N, 3, 3)
    colour_index = {c: i for i, c in enumerate(COLOUR_NAMES)}
    background = PALETTE[[colour_index[s["background"]] for s in scenes]] + jitter[:, 0]
    image = background[:, :, None, None].expand(n, 3, size, size).clone()
    for slot in range(2):
        has = [len(s["objects"]) > slot for s in scenes]
        if not any(has):
            continue
        objs = [s["objects"][slot] if h else s["objects"][0] for s, h in zip(scenes, has, strict=True)]
        cx, cy, extent = (torch.tensor([o[k] for o in objs])[:, None, None] for k in ("x", "y", "size"))
        shape_ids = torch.tensor([SHAPES.index(o["shape"]) for o in objs])
        sdf = _shape_sdf(shape_ids, x, y, cx, cy, extent)
        alpha = (0.5 - sdf / px).clamp(0, 1) * torch.tensor(has, dtype=torch.float32)[:, None, None]
        colour = PALETTE[[colour_index[o["colour"]] for o in objs]] + jitter[:, slot + 1]
        image = image.lerp(colour[:, :, None, None].expand_as(image), alpha[:, None].expand_as(image))
    return (image.clamp(0, 1) * 2 - 1).contiguous()


def add_clutter(images: torch.Tensor, rng: np.random.Generator, blobs: tuple[int, int]) -> torch.Tensor:
    """Paint blobs of palette colours over images (N, 3, S, S) in [-1, 1]: each blob a union of two or
    three overlapping discs, so none is a circle, square or triangle of the world. Images like these are
    what CLIP-guided optimisation drifts towards (patches of the right colours in roughly the right
    places); the CLIP learns that no caption describes them."""
    n, _, size, _ = images.shape
    px = 2.0 / size
    coords = (torch.arange(size, dtype=torch.float32) + 0.5) * px - 1
    y, x = coords[:, None], coords[None, :]
    out = (images.clone() + 1) / 2
    for i in range(n):
        for _ in range(int(rng.integers(blobs[0], blobs[1] + 1))):
            centre = rng.uniform(-0.8, 0.8, 2)
            discs = [(centre + rng.uniform(-0.2, 0.2, 2), rng.uniform(0.08, 0.3))
                     for _ in range(int(rng.integers(2, 4)))]
            sdf = torch.stack([torch.hypot(x - cx, y - cy) - r for (cx, cy), r in discs]).amin(0)
            alpha = (0.5 - sdf / px).clamp(0, 1)
            colour = PALETTE[int(rng.integers(len(PALETTE)))][:, None, None]
            out[i] = out[i].lerp(colour.expand_as(out[i]), alpha.expand_as(out[i]))
    return (out.clamp(0, 1) * 2 - 1).contiguous()


def render_clutter(n: int, rng: np.random.Generator, size: int = 64) -> torch.Tensor:
    """n images outside the world: half are scenes with one to three extra blobs painted over them,
    half a plain background under three to seven blobs."""
    half = n // 2
    scenes = sample_scenes(half, int(rng.integers(2**31)))
    over_scenes = add_clutter(render_scenes(scenes, size), rng, (1, 3))
    backgrounds = PALETTE[rng.integers(len(PALETTE), size=n - half)][:, :, None, None] * 2 - 1
    plain = add_clutter(backgrounds.expand(n - half, 3, size, size), rng, (3, 7))
    return torch.cat([over_scenes, plain])


# ---------------------------------------------------------------- reading an image back

MIN_BLOB = 0.012  # smallest object, as a share of the image (a rendered one covers >= 0.025)
COLOUR_TOLERANCE = 0.45  # a pixel belongs to its nearest palette colour only when this close


def _components(mask: torch.Tensor) -> torch.Tensor:
    """8-connected component labels of a (H, W) bool mask (0 = outside), by propagating the largest
    label through 3x3 neighbourhoods until nothing changes: vectorised, no scipy needed."""
    h, w = mask.shape
    labels = torch.where(mask, torch.arange(1, h * w + 1, dtype=torch.float32).view(h, w), 0.0)
    for _ in range(h * w):
        grown = F.max_pool2d(labels[None, None], 3, 1, 1)[0, 0] * mask
        if torch.equal(grown, labels):
            break
        labels = grown
    return labels.long()


def _offset(index: torch.Tensor) -> float:
    """The mean of pixel indices as a fraction of their extent (0.5 = centred)."""
    low, high = index.min().item(), index.max().item()
    return (index.float().mean().item() - low + 0.5) / (high - low + 1)


def classify_shape(fill: float, skew: float = 0.0) -> str:
    """Shape from two blob features. fill, the share of its bounding box it covers: triangle 0.5,
    circle 0.785, square 1 when sharp. skew, how far its centroid sits from the box's centre (as a
    fraction of the box): triangles ~0.16 (the centroid is 2/3 of the way down), circles and squares
    ~0. Measured on renders, sharp and blurred 2x: circles fill 0.68-0.88 with skew <= 0.04,
    squares fill >= 0.92, triangles skew >= 0.1; hence the thresholds between those ranges."""
    if skew > 0.075 or fill < 0.6:
        return "triangle"
    return "circle" if fill < 0.9 else "square"


def read_blobs(image: torch.Tensor) -> tuple[str, list[dict]]:
    """(background colour name, blobs) of an image (3, H, W) in [-1, 1]. A blob: {"colour", "shape",
    "area" (share of the image), "x", "y" (centroid in [-1, 1]), "fill"}; only blobs of at least
    MIN_BLOB, largest first. Images are resized to 64x64 first so the thresholds mean the same."""
    image = image.detach().float().cpu()
    if image.shape[-2:] != (64, 64):
        image = F.interpolate(
            image[None], size=(64, 64), mode="bilinear", antialias=True, align_corners=False
        )[0]
    rgb = (image.clamp(-1, 1) + 1) / 2
    distance = torch.cdist(rgb.flatten(1).T, PALETTE)  # (H*W, colours)
    nearest_d, nearest = distance.min(1)
    nearest = torch.where(nearest_d < COLOUR_TOLERANCE, nearest, -1).view(64, 64)
    border = torch.cat([rgb[:, :2].flatten(1), rgb[:, -2:].flatten(1), rgb[:, :, :2].flatten(1),
                        rgb[:, :, -2:].flatten(1)], 1)
    background = COLOUR_NAMES[int(torch.cdist(border.median(1).values[None], PALETTE).argmin())]
    coords = (torch.arange(64, dtype=torch.float32) + 0.5) / 32 - 1
    blobs = []
    for index, name in enumerate(COLOUR_NAMES):
        if name == background:
            continue
        mask = nearest == index
        if mask.sum() < MIN_BLOB * 4096:
            continue
        labels = _components(mask)
        ids, counts = labels[labels > 0].unique(return_counts=True)
        for label, count in zip(ids.tolist(), counts.tolist(), strict=True):
            if count < MIN_BLOB * 4096:
                continue
            rows, cols = torch.nonzero(labels == label, as_tuple=True)
            box = (rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1)
            fill = count / float(box)
            # where the centroid sits in the box: 0.5 for circles and squares, 2/3 down for triangles
            skew = max(abs(_offset(rows) - 0.5), abs(_offset(cols) - 0.5))
            blobs.append({"colour": name, "shape": classify_shape(fill, skew), "area": count / 4096,
                          "fill": fill, "skew": skew, "x": float(coords[cols].mean()),
                          "y": float(coords[rows].mean())})
    blobs.sort(key=lambda b: -b["area"])
    return background, blobs


def relation_holds(first: dict, second: dict, relation: str) -> bool:
    """Whether first is `relation` second, from centroids: the offset along the relation's axis has
    the right sign and is larger than the offset across it."""
    dx, dy = first["x"] - second["x"], first["y"] - second["y"]
    along, across = {"above": (-dy, dx), "below": (dy, dx), "left of": (-dx, dy), "right of": (dx, dy)}[
        relation
    ]
    return along > 0 and along > abs(across)


def check_image(image: torch.Tensor, prompt) -> dict[str, bool]:
    """Does image (3, H, W) in [-1, 1) show what prompt (text or a parse_prompt dict) asks for?

    Keys: "background" (when the prompt names one: the border's colour), "object1" / "object2" (a
    blob of that colour with that shape), "relation" (two objects: their centroids), "all". A blob of
    the right colour but the wrong shape fails its object. Raises ValueError for a prompt outside the
    world (see prompt_problem)."""
    spec = prompt if isinstance(prompt, dict) else parse_prompt(prompt)
    if spec is None:
        raise ValueError(prompt_problem(prompt) or f"not a shapes-world prompt: {prompt!r}")
    background, blobs = read_blobs(image)
    result = {}
    if spec.get("background") is not None:
        result["background"] = background == spec["background"]
    found = []
    for i, obj in enumerate(spec["objects"]):
        same_colour = [b for b in blobs if b["colour"] == obj["colour"]]
        match = next((b for b in same_colour if b["shape"] == obj["shape"]), None)
        result[f"object{i + 1}"] = match is not None
        found.append(match)
    if spec.get("relation") is not None:
        result["relation"] = None not in found and relation_holds(found[0], found[1], spec["relation"])
    result["all"] = all(result.values())
    return result


def scene_spec(scene: dict) -> dict:
    """The part of a scene a caption states (what parse_prompt returns for its caption)."""
    return {"background": scene["background"], "relation": scene.get("relation"),
            "objects": [{"colour": o["colour"], "shape": o["shape"]} for o in scene["objects"]]}


# ---------------------------------------------------------------- truth and hard negatives


def satisfies(scene_or_spec: dict, spec: dict) -> bool:
    """Whether a scene (or a full spec) is described by spec (a spec without background matches any)."""
    key, want = scene_key(scene_or_spec), scene_key(spec)
    return key[1:] == want[1:] and (want[0] is None or want[0] == key[0])


def match_matrix(scenes: list[dict], specs: list[dict]) -> torch.Tensor:
    """(N images, M captions) float: 1 where image i satisfies caption j."""
    return torch.tensor([[float(satisfies(s, p)) for p in specs] for s in scenes])


def hard_negatives(spec: dict, rng: np.random.Generator) -> dict[str, dict]:
    """The caption's spec changed in one way that makes it false: relation reversed, the two colours
    swapped, the two shapes swapped (when they differ), the background or one object's colour changed."""
    objects, out = spec["objects"], {}
    used = {o["colour"] for o in objects} | {spec["background"]}
    free = [c for c in COLOUR_NAMES if c not in used]
    out["background"] = {**spec, "background": free[rng.integers(len(free))]}
    recolour = [dict(o) for o in objects]
    recolour[0]["colour"] = free[rng.integers(len(free))]
    out["colour"] = {**spec, "objects": recolour}
    if spec["relation"] is not None:
        a, b = objects
        out["relation"] = {**spec, "relation": OPPOSITE[spec["relation"]]}
        out["colour_swap"] = {**spec, "objects": [{**a, "colour": b["colour"]}, {**b, "colour": a["colour"]}]}
        if a["shape"] != b["shape"]:
            out["shape_swap"] = {**spec, "objects": [{**a, "shape": b["shape"]}, {**b, "shape": a["shape"]}]}
    return out


BINDING = ("relation", "colour_swap", "shape_swap")  # what in-batch negatives almost never test


def binding_negatives(specs: list[dict], rng: np.random.Generator, per_scene: int) -> list[dict]:
    """Up to per_scene hard negatives of each two-object scene that differ from it only in which
    colour or shape goes where (NegCLIP, Yuksekgonul et al. 2023). Random scenes in a batch almost
    never differ that way, so without these a CLIP learns a bag of words and reads "red circle above
    blue square" like "blue circle above red square"."""
    out = []
    for spec in specs:
        negatives = hard_negatives(spec, rng)
        kinds = [k for k in BINDING if k in negatives]
        for kind in rng.permutation(kinds)[:per_scene]:
            out.append(negatives[kind])
    return out

