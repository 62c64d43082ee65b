"""Tab: the CycleGAN (book ch. 6) turns blond hair black and back on a photo: input, converted image
and round trip side by side, a strength slider, and the face referee's reading of the hair colour."""

from pathlib import Path

import gradio as gr
import torch
from gradio_client import handle_file
from PIL import Image

from genai_core.data.faces import HAIR_COLOURS, render_batch
from genai_core.data.photos import load_photo

from .common import (
    check_float,
    check_seed,
    image_array,
    output_path,
    pipeline,
    seed_box,
    user_error,
    user_errors,
)

EXAMPLES_DIR = Path(__file__).parent / "examples"
DIRECTIONS = ("blond -> black", "black -> blond")
MAIN_BUTTON = "Convert"
EXAMPLE_PHOTO = EXAMPLES_DIR / "blond_face_1.png"


def _hair_verdict(images: torch.Tensor) -> list[str]:
    probs = pipeline("face_referee").predict(images)["hair_colour_probs"]
    return [f"{HAIR_COLOURS[int(p.argmax())]} ({p.max():.0%})" for p in probs]


@user_errors
def convert(photo, direction, strength):
    """photo: a file path (upload or example) -> (input as used, converted, round trip, verdict)."""
    if photo is None:
        raise user_error("Upload a photo, pick an example or draw a random face first.")
    if direction not in DIRECTIONS:
        raise user_error(f"Direction must be one of: {', '.join(DIRECTIONS)}")
    strength = check_float(strength, "Strength", 0.0, 1.0)
    image = load_photo(photo)
    converted, round_trip = pipeline("cyclegan_hair").convert(image, direction, strength)
    before, after, back = _hair_verdict(torch.stack([image, converted, round_trip]))
    verdict = (
        f"Face referee reads the hair as: input **{before}**, converted **{after}**, round trip **{back}** "
        f"(asked for {direction.split('->')[1].strip()})."
    )
    return image_array(image), image_array(converted), image_array(round_trip), verdict


@user_errors
def random_face(seed, hair):
    """A procedural face (the kind the model was trained on) with the chosen hair colour: a 128x128
    PNG file that becomes the photo to convert."""
    seed = check_seed(seed)
    if hair not in ("blond", "black"):
        raise user_error("Hair must be blond or black")
    images, _ = render_batch(1, seed, 128, hair_colour=float(HAIR_COLOURS.index(hair)))
    path = output_path(".png")
    Image.fromarray(image_array(images[0])).save(path)
    return str(path)


API_EXAMPLES = {
    "cyclegan_hair_convert": (handle_file(str(EXAMPLE_PHOTO)), "blond -> black", 1.0),
    "cyclegan_hair_random_face": (0, "blond"),
}


def build() -> None:
    gr.Markdown(
        "A CycleGAN (book ch. 6) trained on **unpaired** procedural faces at 64x64: blond-haired ones and "
        "black-haired ones, never the same face twice. Larger photos are converted at 64x64 and only the "
        "change is enlarged and added, so the rest keeps its detail. Any PNG, JPEG or WebP works; it is "
        "cropped to a centred square. Real photos are far from what the model saw: expect dark smudges, "
        "not a new hair colour (see the model card)."
    )
    with gr.Row():
        with gr.Column(scale=1):
            # a File, not an Image: gr.Image decodes uploads before the handler and answers a non-image
            # with a server traceback and an opaque client error; here load_photo says what is wrong
            photo = gr.File(value=str(EXAMPLE_PHOTO), label="Photo (PNG, JPEG or WebP)", file_types=["image"],
                            type="filepath")
            direction = gr.Radio(list(DIRECTIONS), value=DIRECTIONS[0], label="Direction")
            strength = gr.Slider(0, 1, value=1, step=0.05, label="Strength (0 = input, 1 = full conversion)")
            button = gr.Button(MAIN_BUTTON, variant="primary")
            with gr.Accordion("Or draw a random face", open=False):
                seed = seed_box()
                hair = gr.Radio(["blond", "black"], value="blond", label="Hair")
                draw = gr.Button("Draw face")
            gr.Examples(
                [[str(p), DIRECTIONS[0] if "blond" in p.name else DIRECTIONS[1]]
                 for p in sorted(EXAMPLES_DIR.glob("*.png"))],
                inputs=[photo, direction],
            )
        with gr.Column(scale=2):
            with gr.Row():
                shown = gr.Image(label="Input (cropped)", format="png", height=256)
                converted = gr.Image(label="Converted", format="png", height=256)
                round_trip = gr.Image(label="Round trip (converted back)", format="png", height=256)
            verdict = gr.Markdown()
    button.click(convert, [photo, direction, strength], [shown, converted, round_trip, verdict],
                 api_name="cyclegan_hair_convert")
    draw.click(random_face, [seed, hair], photo, api_name="cyclegan_hair_random_face")


if __name__ == "__main__":
    with gr.Blocks() as demo:
        build()
    demo.launch()
