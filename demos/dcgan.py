"""Tab: anime faces from the DCGAN. A seeded grid, pick a face, slerp walks as GIF/MP4, truncation.

Everything a picture shows follows from the settings: face i of a grid is latent(seed + i) times
the truncation, so the JSON file each button offers is enough to regenerate it exactly.
"""

import functools
import hashlib
import json
import math

import gradio as gr
import numpy as np

from genai_core.images import save_animation
from genai_core.pipelines.dcgan import MAX_FACES, MAX_FRAMES
from genai_core.registry import get

from .common import (
    MAX_SEED,
    check_float,
    check_int,
    check_seed,
    output_path,
    pipeline,
    seed_box,
    user_error,
    user_errors,
)

GRID_SCALE = 2  # 64-pixel faces shown 2x in the grid, 4x alone and in the walk
FACE_SCALE = 4
PADDING = 2  # image_grid's border between faces, before scaling
# below ~0.55 the shipped generator's faces wash out into pink tiles (benchmarks/dcgan.py prints their
# shape contrast per value; the card shows them)
MIN_TRUNCATION, MAX_TRUNCATION = 0.6, 1.5
API_EXAMPLES = {"dcgan_grid": (16, 0, 1.0), "dcgan_walk": (0, 1, 12, 8, 1.0),
                "dcgan_walk_video": (0, 1, 12, 8, 1.0)}
MAIN_BUTTON = "Generate"


def enlarge(image: np.ndarray, factor: int) -> np.ndarray:
    return image.repeat(factor, axis=0).repeat(factor, axis=1)


def check_truncation(value) -> float:
    return check_float(value, "Truncation", MIN_TRUNCATION, MAX_TRUNCATION)


def weights_id() -> str:
    """First 12 hex digits of the SHA-256 of the weights the tab uses (shipped or promoted from the
    Train tab): the settings file names the exact model."""
    path = get("dcgan").active_weights_dir / "model.safetensors"
    if not path.is_file():
        return "missing"
    return _sha256(str(path), path.stat().st_mtime_ns)


@functools.cache
def _sha256(path: str, mtime_ns: int) -> str:  # mtime in the key: a new promotion is hashed again
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()[:12]


def settings_file(action: str, **settings) -> str:
    record = {"model": "dcgan", "weights_sha256": weights_id(), "action": action, **settings,
              "face_i_latent": "torch.randn(100, generator=torch.Generator().manual_seed(seed + i))"
                               " * truncation"}
    path = output_path(".json")
    path.write_text(json.dumps(record, indent=2))
    return str(path)


@user_errors
def grid(count, seed, truncation):
    count = check_int(count, "Number of faces", 1, MAX_FACES)
    seed, truncation = check_seed(seed), check_truncation(truncation)
    image = pipeline("dcgan").grid(count, seed, truncation)
    return enlarge(image, GRID_SCALE), settings_file("grid", count=count, seed=seed, truncation=truncation)


@user_errors
def pick(count, seed, index, truncation):
    """Face `index` of the grid alone, with the seed that names it (for the walk)."""
    count = check_int(count, "Number of faces", 1, MAX_FACES)
    index = check_int(index, "Face number", 0, count - 1)
    seed, truncation = check_seed(seed), check_truncation(truncation)
    face_seed = seed + index
    if face_seed > MAX_SEED:
        raise user_error(f"Seed + face number must be at most {MAX_SEED}; pick a smaller seed")
    face = enlarge(pipeline("dcgan").face(face_seed, truncation), FACE_SCALE)
    return face, f"Face {index} of the grid is **seed {face_seed}** (seed {seed} + {index}).", face_seed


def cell_from_click(count, evt: gr.SelectData):
    """A click on the grid image -> the number of the face under the pointer."""
    count = check_int(count, "Number of faces", 1, MAX_FACES)
    x, y = (max(0, int(v / GRID_SCALE) - PADDING) for v in evt.index)  # pixel in the unscaled grid
    per_row = math.ceil(math.sqrt(count))  # image_grid's layout
    col, row = min(x // (64 + PADDING), per_row - 1), y // (64 + PADDING)
    return min(row * per_row + col, count - 1)


def show(count, seed, index, truncation):
    return pick(count, seed, index, truncation)[:2]


def _walk_frames(seed_a, seed_b, frames, fps, truncation):
    seed_a, seed_b = check_seed(seed_a, "Seed A"), check_seed(seed_b, "Seed B")
    frames = check_int(frames, "Frames", 2, MAX_FRAMES)
    fps = check_int(fps, "Frames per second", 1, 30)
    truncation = check_truncation(truncation)
    images = [enlarge(f, FACE_SCALE) for f in pipeline("dcgan").walk(seed_a, seed_b, frames, truncation)]
    settings = {"seed_a": seed_a, "seed_b": seed_b, "frames": frames, "fps": fps, "truncation": truncation,
                "interpolation": "slerp, then truncation"}
    return images, settings


@user_errors
def walk(seed_a, seed_b, frames, fps, truncation):
    """The walk as a GIF, a strip of its frames, and the GIF with its settings to download (the MP4 is
    made on request: encoding it cost more than the walk itself)."""
    images, settings = _walk_frames(seed_a, seed_b, frames, fps, truncation)
    gif = save_animation(images, output_path(".gif"), fps=settings["fps"])
    step = max(1, math.ceil(len(images) / 10))  # the strip shows at most 10 frames, ends included
    shown = images[::step] if (len(images) - 1) % step == 0 else [*images[::step], images[-1]]
    strip = np.concatenate([enlarge(f[::FACE_SCALE, ::FACE_SCALE], 2) for f in shown], axis=1)
    return str(gif), strip, [str(gif), settings_file("walk", **settings)]


@user_errors
def walk_video(seed_a, seed_b, frames, fps, truncation):
    """The same walk as an MP4 (H.264)."""
    images, settings = _walk_frames(seed_a, seed_b, frames, fps, truncation)
    return str(save_animation(images, output_path(".mp4"), fps=settings["fps"]))


def build() -> None:
    gr.Markdown(
        "A DCGAN (book ch. 4) trained by this project on 18,000 anime faces (64x64). Face *i* of the "
        "grid comes from seed + *i*, so any face can be regenerated alone and used as a walk end "
        "point. **Truncation** scales the latent vector towards its mean: 1 samples what the model "
        "was trained on; lower values give more typical, paler faces with less variety."
    )
    with gr.Row():
        with gr.Column(scale=1):
            count = gr.Slider(1, MAX_FACES, value=16, step=1, label="Number of faces")
            seed = seed_box()
            truncation = gr.Slider(MIN_TRUNCATION, MAX_TRUNCATION, value=1.0, step=0.05, label="Truncation")
            button = gr.Button("Generate", variant="primary")
            grid_settings = gr.File(label="Settings used (JSON)")
        grid_image = gr.Image(label="Generated faces (click one to pick it)", type="numpy", scale=2)
    button.click(grid, [count, seed, truncation], [grid_image, grid_settings], api_name="dcgan_grid")

    gr.Markdown("### Pick a face\nType its number (0 is top left, row by row) or click it in the grid.")
    with gr.Row():
        with gr.Column(scale=1):
            index = gr.Number(value=0, label="Face number", precision=0, minimum=0, maximum=MAX_FACES - 1)
            with gr.Row():
                as_start = gr.Button("Use as walk start (A)")
                as_end = gr.Button("Use as walk end (B)")
        with gr.Column(scale=1):
            face = gr.Image(label="Picked face", type="numpy")
            face_info = gr.Markdown()

    gr.Markdown("### Latent walk\nSpherical interpolation (slerp) from seed A's face to seed B's.")
    with gr.Row():
        with gr.Column(scale=1):
            seed_a = seed_box(0, "Seed A")
            seed_b = seed_box(1, "Seed B")
            frames = gr.Slider(2, MAX_FRAMES, value=24, step=1, label="Frames")
            fps = gr.Slider(1, 30, value=12, step=1, label="Frames per second")
            with gr.Row():
                walk_button = gr.Button("Walk", variant="primary")
                video_button = gr.Button("Make MP4")
        with gr.Column(scale=2):
            with gr.Row():
                animation = gr.Image(label="Walk (GIF)", type="filepath")
                video = gr.Video(label="Walk (MP4, made on request)", loop=True)
            strip = gr.Image(label="Frames", type="numpy")
            downloads = gr.File(label="Download GIF and settings (JSON)", file_count="multiple")
    pick_inputs = [count, seed, index, truncation]
    grid_image.select(cell_from_click, [count], index, api_name="dcgan_click").then(
        show, pick_inputs, [face, face_info], api_name="dcgan_pick"
    )
    as_start.click(pick, pick_inputs, [face, face_info, seed_a], api_name="dcgan_pick_start")
    as_end.click(pick, pick_inputs, [face, face_info, seed_b], api_name="dcgan_pick_end")
    walk_inputs = [seed_a, seed_b, frames, fps, truncation]
    walk_button.click(walk, walk_inputs, [animation, strip, downloads], api_name="dcgan_walk")
    video_button.click(walk_video, walk_inputs, video, api_name="dcgan_walk_video")


if __name__ == "__main__":
    with gr.Blocks() as demo:
        build()
    demo.launch()
