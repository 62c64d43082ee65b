"""Tab: faces from the conditional WGAN-GP (book ch. 5) with the referee's verdict under every face:
the glasses label slider, latent interpolation, the label x latent grid and attribute arithmetic."""

import math

import gradio as gr
import numpy as np
import torch

from genai_core.data.faces import PRESETS
from genai_core.images import labelled_grid

from .common import check_int, check_seed, pipeline, seed_box, user_error, user_errors

DISPLAY = 128  # the models draw 64x64 (photos) or 32x32 (procedural) faces, enlarged for the page
# model choice -> (generator, the referee that reads its faces)
MODELS = {
    "Real photos (LFW, CelebA-HQ)": ("cwgan_real_faces", "real_face_referee"),
    "Procedural faces (the project's drawings)": ("cwgan_glasses", "face_referee"),
}
FIRST = next(iter(MODELS))


def check_unit(value, name: str) -> float:
    """A label value in [0, 1]; the API can send anything, so check before use."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise user_error(f"{name} must be a number from 0 to 1, got {value!r}") from None
    if not math.isfinite(number) or not 0 <= number <= 1:
        raise user_error(f"{name} must be a number from 0 to 1, got {value!r}")
    return number


def _models(choice):
    if choice not in MODELS:
        raise user_error(f"Model must be one of: {'; '.join(MODELS)}")
    gan, referee = MODELS[choice]
    return pipeline(gan), pipeline(referee)


def _labelled(referee, images: torch.Tensor, heads: list[str], nrow: int, cell: int = DISPLAY) -> np.ndarray:
    """Images in [-1, 1] -> one picture: each face enlarged, its heading (what was asked) and the
    referee's verdict (what it reads) printed below it."""
    verdicts = referee.captions(images)
    captions = [f"{head}\n{verdict}" for head, verdict in zip(heads, verdicts, strict=True)]
    return labelled_grid(images, captions, nrow=nrow, cell=cell, font_size=12)


@user_errors
def face(choice, seed, glasses, male):
    """The face of `seed` at the chosen labels, then the same face with the glasses label 0 -> 1."""
    gan, referee = _models(choice)
    seed, glasses, male = (
        check_seed(seed),
        check_unit(glasses, "Glasses label"),
        check_unit(male, "Male label"),
    )
    chosen = gan.face(seed, glasses, male)
    sweep, w = gan.label_sweep(seed, male, 6)
    heads = [f"asked: glasses {glasses:.2f}"] + [f"glasses label {g:.1f}" for g in w]
    return _labelled(referee, torch.cat([chosen, sweep]), heads, nrow=7, cell=112)


@user_errors
def interpolate(choice, seed_a, seed_b, male_a, male_b, glasses, frames):
    """Slerp from seed A's face to seed B's, the male label moving from A's value to B's."""
    gan, referee = _models(choice)
    seed_a, seed_b = check_seed(seed_a, "Seed A"), check_seed(seed_b, "Seed B")
    male_a, male_b = check_unit(male_a, "Male label A"), check_unit(male_b, "Male label B")
    glasses, frames = check_unit(glasses, "Glasses label"), check_int(frames, "Frames", 2, 16)
    images, t = gan.interpolate(seed_a, seed_b, male_a, male_b, glasses, frames)
    return _labelled(referee, images, [f"t = {s:.2f}" for s in t], nrow=8, cell=96)


@user_errors
def grid(choice, seed_a, seed_b, male_a, male_b):
    """6x6: rows walk from A to B in latent space, columns move the glasses label from 0 to 1."""
    gan, referee = _models(choice)
    seed_a, seed_b = check_seed(seed_a, "Seed A"), check_seed(seed_b, "Seed B")
    male_a, male_b = check_unit(male_a, "Male label A"), check_unit(male_b, "Male label B")
    images = gan.cross_grid(seed_a, seed_b, male_a, male_b, 6)
    heads = [f"row {r + 1}, glasses {c / 5:.1f}" for r in range(6) for c in range(6)]
    return _labelled(referee, images, heads, nrow=6, cell=112)


@user_errors
def arithmetic(choice, preset, seed):
    """mean(a) - mean(b) + mean(c) over referee-selected groups of 512 generated faces."""
    gan, referee = _models(choice)
    if preset not in PRESETS:
        raise user_error(f"Preset must be one of: {'; '.join(PRESETS)}")
    seed = check_seed(seed)
    images, intended = gan.arithmetic(referee, preset, seed)
    a, b, c, _ = PRESETS[preset]
    heads = [f"a: {a}", f"- b: {b}", f"+ c: {c}", f"= result (want {intended})"]
    return _labelled(referee, images, heads, nrow=4, cell=160)


API_EXAMPLES = {
    "cwgan_glasses_face": (FIRST, 0, 1.0, 1.0),
    "cwgan_glasses_interpolate": (FIRST, 0, 1, 1.0, 0.0, 0.0, 6),
    "cwgan_glasses_grid": (FIRST, 0, 1, 1.0, 0.0),
    "cwgan_glasses_arithmetic": (FIRST, next(iter(PRESETS)), 0),
}
MAIN_BUTTON = "Generate"


def _picture(label: str) -> gr.Image:
    # twice the controls' width: the labelled faces show near their natural size at 1280 px
    return gr.Image(label=label, type="numpy", format="png", show_label=True, scale=2)


def build() -> None:
    gr.Markdown(
        "A conditional WGAN-GP (book ch. 5, plus an auxiliary label classifier: AC-WGAN-GP). The generator "
        "gets the labels *glasses* and *male* next to the noise vector. The default model learnt from real "
        "photos (LFW and CelebA-HQ, 64x64); the second from the project's drawn faces (32x32). Under every "
        "face: the verdict of a separate **face referee** classifier, with its confidence (see "
        "weights/cwgan_real_faces/card.md)."
    )
    choice = gr.Radio(list(MODELS), value=FIRST, label="Model")
    with gr.Row():
        with gr.Column(scale=1):
            seed = seed_box()
            glasses = gr.Slider(0, 1, value=1, step=0.05, label="Glasses label (0 = none, 1 = glasses)")
            male = gr.Slider(0, 1, value=1, step=0.05, label="Male label (0 = woman, 1 = man)")
            button = gr.Button(MAIN_BUTTON, variant="primary")
        faces = _picture("This face, then the glasses label from 0 to 1")
    button.click(face, [choice, seed, glasses, male], faces, api_name="cwgan_glasses_face")

    gr.Markdown("### Latent interpolation and the label x latent grid\nSeed A's face turns into seed B's "
                "(spherical interpolation of the noise, linear in the male label).")
    with gr.Row():
        with gr.Column(scale=1):
            seed_a, seed_b = seed_box(0, "Seed A"), seed_box(1, "Seed B")
            male_a = gr.Slider(0, 1, value=1, step=0.05, label="Male label of A")
            male_b = gr.Slider(0, 1, value=0, step=0.05, label="Male label of B")
            walk_glasses = gr.Slider(0, 1, value=0, step=0.05, label="Glasses label of the walk")
            frames = gr.Slider(2, 16, value=8, step=1, label="Frames")
            walk_button = gr.Button("Interpolate")
            grid_button = gr.Button("6x6 grid (rows: A -> B, columns: glasses 0 -> 1)")
        with gr.Column(scale=2):
            walk_gallery = _picture("Latent interpolation")
            grid_gallery = _picture("Grid")
    walk_inputs = [choice, seed_a, seed_b, male_a, male_b, walk_glasses, frames]
    walk_button.click(interpolate, walk_inputs, walk_gallery, api_name="cwgan_glasses_interpolate")
    grid_inputs = [choice, seed_a, seed_b, male_a, male_b]
    grid_button.click(grid, grid_inputs, grid_gallery, api_name="cwgan_glasses_grid")

    gr.Markdown(
        "### Attribute-vector arithmetic\n512 faces are drawn from random inputs [z, labels]; the referee "
        "sorts them into groups; each group's mean input is one term of the sum."
    )
    with gr.Row():
        with gr.Column(scale=1):
            preset = gr.Dropdown(list(PRESETS), value=next(iter(PRESETS)), label="Preset")
            arith_seed = seed_box(0, "Draw seed")
            arith_button = gr.Button("Compute")
        arith_gallery = _picture("a, b, c and a - b + c")
    arith_button.click(arithmetic, [choice, preset, arith_seed], arith_gallery,
                       api_name="cwgan_glasses_arithmetic")


if __name__ == "__main__":
    with gr.Blocks() as demo:
        build()
    demo.launch()
