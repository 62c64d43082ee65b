"""Tab: the face VAE (book ch. 7). Faces from the prior, encode and reconstruct a photo, interpolate
between two faces (a strip and an MP4) and latent arithmetic on the means of mu."""

from pathlib import Path

import gradio as gr
import numpy as np
import torch
from gradio_client import handle_file

from genai_core.data.faces import PRESETS
from genai_core.data.photos import frame_centred, frame_face
from genai_core.data.real_faces import PRESETS as REAL_PRESETS
from genai_core.images import image_grid, labelled_grid, resize_square, save_animation
from genai_core.metrics.image import psnr

from .common import (
    check_float,
    check_int,
    check_seed,
    image_array,
    output_path,
    pipeline,
    seed_box,
    user_error,
    user_errors,
)

# model choice -> (VAE, the referee that reads its faces, whether uploads are searched for a face)
MODELS = {
    "Real photos (LFW, CelebA-HQ)": ("vae_real_faces", "real_face_referee", True),
    "Procedural faces (the project's drawings)": ("vae_faces", "face_referee", False),
}
DISPLAY = 128  # the VAE works at 64x64; faces are shown enlarged
MAIN_BUTTON = "Generate"
MAX_FACES, MAX_FRAMES = 32, 48
EXAMPLES_DIR = Path(__file__).parent / "examples"
# held-out LFW photos (LFW's research-use terms, named in the About tab), then faces the project draws
EXAMPLES = sorted(EXAMPLES_DIR.glob("lfw_*.jpg")) + sorted(EXAMPLES_DIR.glob("*.png"))


def _model(choice: str):
    if choice not in MODELS:
        raise user_error(f"Model must be one of: {', '.join(MODELS)}")
    return pipeline(MODELS[choice][0])


def _referee(choice: str):
    return pipeline(MODELS[choice][1])


def _grid(images: torch.Tensor, nrow: int) -> np.ndarray:
    return image_grid(resize_square(images, DISPLAY), nrow=nrow)


@user_errors
def generate(choice, n, seed, temperature):
    """n faces decoded from z ~ N(0, temperature^2 I)."""
    vae = _model(choice)
    n, seed = check_int(n, "Faces", 1, MAX_FACES), check_seed(seed)
    temperature = check_float(temperature, "Temperature", 0.0, 2.0)
    return _grid(vae.prior(n, seed, temperature), nrow=min(n, 4 if n <= 8 else 8))


def _photo(choice: str, path, name: str = "a face photo") -> tuple[torch.Tensor, str]:
    """(the face framed as the model's training photos were, at its size; how it was framed). The
    real-photo model gets the detected face (face and hair, as LFW's crops), or the centred square when
    no face is found; the drawn faces fill their square already."""
    if path is None:
        raise user_error(f"Upload {name} first (or pick an example).")
    size = int(_model(choice).cfg.model.size)
    if not MODELS[choice][2]:
        return frame_centred(path, size).face, "centred square"
    framed = frame_face(path, size, centred_if_none=True)
    return framed.face, "face found and framed" if framed.found else "no face found: centred square"


@user_errors
def reconstruct(choice, photo):
    """The photo at the model's size and its reconstruction from mu, with the PSNR between them."""
    vae = _model(choice)
    face, framing = _photo(choice, photo)
    image = vae.fit(face[None])
    recon = vae.reconstruct(image)
    score = psnr(recon, image).item()
    pair = resize_square(torch.cat([image, recon]), DISPLAY)
    return image_array(pair[0]), image_array(pair[1]), f"Reconstruction PSNR: **{score:.1f} dB** ({framing})"


def _code(choice, vae, photo, seed: int, name: str) -> torch.Tensor:
    """A face's code: mu of the uploaded photo, or the prior sample of `seed` when there is none."""
    if photo is not None:
        return vae.encode(_photo(choice, photo, name)[0][None])[0]
    return vae.prior_codes(1, seed)[0]


@user_errors
def interpolate(choice, photo_a, seed_a, photo_b, seed_b, frames, fps):
    vae = _model(choice)
    seed_a, seed_b = check_seed(seed_a, "Seed A"), check_seed(seed_b, "Seed B")
    frames, fps = check_int(frames, "Frames", 2, MAX_FRAMES), check_int(fps, "Frames per second", 1, 30)
    walk = vae.interpolate(_code(choice, vae, photo_a, seed_a, "face A"),
                           _code(choice, vae, photo_b, seed_b, "face B"), frames)
    images = resize_square(walk, DISPLAY)
    video = save_animation([image_array(img) for img in images], output_path(".mp4"), fps=fps)
    return image_grid(images, nrow=frames), str(video)


@user_errors
def arithmetic(choice, preset, seed):
    """mean(mu | a) - mean(mu | b) + mean(mu | c) over 512 labelled faces, decoded; the referee reads it."""
    vae = _model(choice)
    if preset not in vae.presets:
        raise user_error(f"Preset must be one of: {'; '.join(vae.presets)}")
    images, intended = vae.arithmetic(preset, check_seed(seed))
    verdicts = _referee(choice).captions(images)
    a, b, c, _ = vae.presets[preset]
    heads = [f"a: {a}", f"- b: {b}", f"+ c: {c}", f"= result (want {intended})"]
    captions = [f"{head}\n{verdict}" for head, verdict in zip(heads, verdicts, strict=True)]
    return labelled_grid(images, captions, nrow=4, cell=160, font_size=12)


FIRST, PROCEDURAL = MODELS
API_EXAMPLES = {
    "vae_generate": (FIRST, 8, 0, 1.0),
    "vae_reconstruct": (FIRST, handle_file(str(EXAMPLES[0]))),
    "vae_interpolate": (FIRST, None, 0, None, 1, 8, 8),
    "vae_arithmetic": (FIRST, next(iter(REAL_PRESETS)), 0),
}


def build() -> None:
    gr.Markdown(
        "A variational autoencoder (book ch. 7) at 64x64 (shown enlarged). The default model learnt from "
        "labelled real photos (LFW, CelebA-HQ; see weights/vae_real_faces/card.md), the second from the "
        "project's drawn faces. Every face is a 128-number code; the decoder draws it, so faces come out "
        "smoothed, as a VAE's do."
    )
    choice = gr.Radio(list(MODELS), value=FIRST, label="Model")
    with gr.Row():
        with gr.Column(scale=1):
            n = gr.Slider(1, MAX_FACES, value=8, step=1, label="Faces")
            seed = seed_box()
            temperature = gr.Slider(0, 2, value=1, step=0.05, label="Temperature (scale of z)")
            button = gr.Button(MAIN_BUTTON, variant="primary")
        faces = gr.Image(label="Faces from the prior", format="png", scale=2)
    button.click(generate, [choice, n, seed, temperature], faces, api_name="vae_generate")

    gr.Markdown("### Encode and reconstruct a photo")
    with gr.Row():
        photo = gr.File(label="Face photo (PNG, JPEG or WebP)", file_types=["image"], type="filepath")
        shown = gr.Image(label="Input as the model sees it (64x64)", format="png", height=256)
        recon = gr.Image(label="Reconstruction", format="png", height=256)
    with gr.Row():
        recon_button = gr.Button("Encode and reconstruct")
        score = gr.Markdown()
    gr.Examples([[str(p)] for p in EXAMPLES], inputs=[photo])
    recon_button.click(reconstruct, [choice, photo], [shown, recon, score], api_name="vae_reconstruct")

    gr.Markdown("### Interpolation\nEach end is an uploaded photo's code, or the prior sample of its seed "
                "when no photo is given.")
    with gr.Row():
        with gr.Column(scale=1):
            photo_a = gr.File(label="Face A (optional photo)", file_types=["image"], type="filepath")
            seed_a = seed_box(0, "Seed A")
        with gr.Column(scale=1):
            photo_b = gr.File(label="Face B (optional photo)", file_types=["image"], type="filepath")
            seed_b = seed_box(1, "Seed B")
        with gr.Column(scale=1):
            frames = gr.Slider(2, MAX_FRAMES, value=8, step=1, label="Frames")
            fps = gr.Slider(1, 30, value=8, step=1, label="Frames per second (MP4)")
            walk_button = gr.Button("Interpolate")
    with gr.Row():
        strip = gr.Image(label="Strip", format="png", scale=3)
        video = gr.Video(label="MP4", loop=True, scale=1)
    walk_button.click(interpolate, [choice, photo_a, seed_a, photo_b, seed_b, frames, fps], [strip, video],
                      api_name="vae_interpolate")

    gr.Markdown("### Latent arithmetic\nThe codes (mu) of 512 labelled faces are averaged per group; the "
                "sum is decoded and the face referee reads it. Needs the labelled-faces model.")
    with gr.Row():
        with gr.Column(scale=1):
            preset = gr.Dropdown(list(REAL_PRESETS), value=next(iter(REAL_PRESETS)), label="Preset")
            arith_seed = seed_box(0, "Draw seed (drawn faces; photos use their shipped means)")
            arith_button = gr.Button("Compute")
        gallery = gr.Image(label="a, b, c and a - b + c, each read by the referee", format="png", scale=2)
    arith_button.click(arithmetic, [choice, preset, arith_seed], gallery, api_name="vae_arithmetic")
    choice.change(_presets_of, choice, preset)


def _presets_of(choice):
    """The preset list follows the model: real photos carry other labels than the drawings."""
    presets = REAL_PRESETS if MODELS.get(choice, ("",))[0] == "vae_real_faces" else PRESETS
    return gr.update(choices=list(presets), value=next(iter(presets)))


if __name__ == "__main__":
    with gr.Blocks() as demo:
        build()
    demo.launch()
