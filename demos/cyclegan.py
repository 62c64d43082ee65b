"""Tab: the CycleGAN (book ch. 6) turns blond hair black and back on an uploaded photo: the face is
found and framed like the training photos, converted, and the change pasted back into the photo; the
model's view (face, converted, round trip, where it changed) with the referee's reading of each."""

from pathlib import Path

import gradio as gr
import numpy as np
import torch
from gradio_client import handle_file
from PIL import Image, ImageDraw

from genai_core.data.faces import HAIR_COLOURS, render_batch
from genai_core.data.photos import NoFaceError, frame_centred, frame_face
from genai_core.images import labelled_grid

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

EXAMPLES_DIR = Path(__file__).parent / "examples"
DIRECTIONS = ("blond -> black", "black -> blond")
MAIN_BUTTON = "Convert"
# held-out LFW photos (people the models never saw; LFW's research-use terms, named in the About tab)
PHOTO_EXAMPLES = sorted(EXAMPLES_DIR.glob("lfw_*.jpg"))
EXAMPLE_PHOTO = next(p for p in PHOTO_EXAMPLES if "blond" in p.name)
MAX_FACE_NUMBER = 20
# model choice -> (generator, the referee that reads its faces, whether uploads are searched for a face,
# the segmenter that keeps the change to the hair or None)
MODELS = {
    "Real photos (LFW, CelebA-HQ)": ("cyclegan_real_hair", "real_face_referee", True, "hair_segmenter"),
    "Procedural faces (the project's drawings)": ("cyclegan_hair", "face_referee", False, None),
}
FIRST, PROCEDURAL = MODELS


def _marked(photo: torch.Tensor, framed) -> np.ndarray:
    """The photo with the crop the model converted drawn on it (and the other faces numbered)."""
    image = Image.fromarray(image_array(photo))
    draw = ImageDraw.Draw(image)
    width = max(2, round(min(image.size) / 200))
    for number, (x, y, w, h) in enumerate(framed.faces, start=1):
        draw.rectangle((x, y, x + w, y + h), outline=(255, 255, 255), width=width)
        draw.text((x + 2 * width, y + 2 * width), str(number), fill=(255, 255, 255),
                  font_size=max(12, round(h / 6)))
    left, top, side = framed.box
    draw.rectangle((left, top, left + side, top + side), outline=(255, 200, 0), width=width)
    return np.asarray(image)


@user_errors
def convert(photo, choice, direction, strength, face_number, centred_if_none):
    """photo: a file path (upload or example) -> (photo with the converted face marked, converted
    photo, round trip, the model's view with the referee's readings, a one-line summary)."""
    if photo is None:
        raise user_error("Upload a photo, pick an example or draw a random face first.")
    if choice not in MODELS:
        raise user_error(f"Model must be one of: {'; '.join(MODELS)}")
    if direction not in DIRECTIONS:
        raise user_error(f"Direction must be one of: {', '.join(DIRECTIONS)}")
    strength = check_float(strength, "Strength", 0.0, 1.0)
    face_number = check_int(face_number, "Face number", 1, MAX_FACE_NUMBER)
    name, referee_name, detect, segmenter_name = MODELS[choice]
    model, referee = pipeline(name), pipeline(referee_name)
    size = int(model.cfg.model.size)
    try:
        if detect:
            framed = frame_face(photo, size, face_number - 1, bool(centred_if_none))
        else:
            framed = frame_centred(photo, size)
    except NoFaceError as err:
        raise user_error(f"No face found in the photo: {str(err).split(': ', 1)[1]}") from None
    hair = pipeline(segmenter_name).hair(framed.face[None])[0] if segmenter_name else None
    result = model.convert_framed(framed, direction, strength, hair)
    readings = referee.predict(result.faces)
    colours = referee.hair_colours
    hair = [f"{colours[i]} hair ({p.max():.0%})"
            for i, p in zip(readings["hair_colour"], readings["hair_colour_probs"], strict=True)]
    views = [result.faces]
    captions = [f"the model's view\n{hair[0]}", f"converted\n{hair[1]}", f"round trip\n{hair[2]}"]
    if result.mask is not None:
        views.append(result.mask[None].expand(1, 3, -1, -1) * 2 - 1)
        gated = "(attention x hair)" if hair is not None else "(attention)"
        captions.append(f"where it may change\n{gated}")
    view = labelled_grid(torch.cat(views), captions, nrow=len(captions), cell=112, font_size=12)
    if framed.found:
        count = len(framed.faces)
        found = f"{count} face{'s' if count > 1 else ''} found; converted face {face_number}"
    else:
        found = "converted the centred square" + (" (no face found)" if detect else "")
    target = direction.split("->")[1].strip()
    summary = f"{found}. Asked for **{target}** hair; the referee reads the converted face as **{hair[1]}**."
    marked = _marked(framed.photo, framed)
    return marked, image_array(result.converted), image_array(result.round_trip), view, summary


@user_errors
def random_face(seed, hair):
    """A procedural face with the chosen hair colour: a 128x128 PNG file that becomes the photo to
    convert, and the procedural model (the one that knows such faces) chosen."""
    seed = check_seed(seed)
    if hair not in ("blond", "black"):
        raise user_error("Hair must be blond or black")
    images, _ = render_batch(1, seed, 128, hair_colour=float(HAIR_COLOURS.index(hair)))
    path = output_path(".png")
    Image.fromarray(image_array(images[0])).save(path)
    return str(path), PROCEDURAL


API_EXAMPLES = {
    "cyclegan_hair_convert": (handle_file(str(EXAMPLE_PHOTO)), FIRST, "blond -> black", 1.0, 1, True),
    "cyclegan_hair_random_face": (0, "blond"),
}


def build() -> None:
    gr.Markdown(
        "A CycleGAN (book ch. 6) trained on **unpaired** photos of blond-haired and black-haired people "
        "(LFW and CelebA-HQ, 64x64), never the same person in both. The face in your photo is found and "
        "framed like the training photos (face and hair); a small **hair segmenter** marks its hair, and "
        "the change is kept to that hair, enlarged and blended back, so skin, eyes and background keep the "
        "photo's own pixels. Under the model's view, a separate **face referee** reads the hair colour. "
        "On held-out photos, **blond -> black** is read as black four times in five; **black -> blond** "
        "turns the hair golden, patchy on short dark hair, and the referee calls one in four blond, "
        "most others brown (weights/cyclegan_real_hair/card.md)."
    )
    with gr.Row():
        with gr.Column(scale=1):
            # a File, not an Image: gr.Image decodes uploads before the handler and answers a non-image
            # with a server traceback and an opaque client error; here the photo reader says what is wrong
            photo = gr.File(value=str(EXAMPLE_PHOTO), label="Photo (PNG, JPEG or WebP)", file_types=["image"],
                            type="filepath", height=120)
            choice = gr.Radio(list(MODELS), value=FIRST, label="Model")
            direction = gr.Radio(list(DIRECTIONS), value=DIRECTIONS[0], label="Direction")
            button = gr.Button(MAIN_BUTTON, variant="primary")
            strength = gr.Slider(0, 1, value=1, step=0.05, label="Strength (0 = input, 1 = full conversion)")
            with gr.Row():
                face_number = gr.Number(1, label="Face number (1 = largest)", precision=0, minimum=1,
                                        maximum=MAX_FACE_NUMBER)
                centred = gr.Checkbox(False, label="Use a centred crop when no face is found")
            with gr.Accordion("Or draw a random face (procedural model)", open=False):
                seed = seed_box()
                hair = gr.Radio(["blond", "black"], value="blond", label="Hair")
                draw = gr.Button("Draw face")
            gr.Examples(
                [[str(p), FIRST, DIRECTIONS["black" in p.name]] for p in PHOTO_EXAMPLES],
                inputs=[photo, choice, direction],
                label="Examples (LFW photos of people held out from training)",
            )
        with gr.Column(scale=2):
            with gr.Row():
                shown = gr.Image(label="Photo (orange: the square the model converted)", format="jpeg",
                                 height=260)
                converted = gr.Image(label="Converted", format="jpeg", height=260)
                round_trip = gr.Image(label="Round trip (converted back)", format="jpeg", height=260)
            summary = gr.Markdown()
            view = gr.Image(label="The model's view, read by the referee", format="png", show_label=True)
    button.click(convert, [photo, choice, direction, strength, face_number, centred],
                 [shown, converted, round_trip, view, summary], api_name="cyclegan_hair_convert")
    draw.click(random_face, [seed, hair], [photo, choice], api_name="cyclegan_hair_random_face")


if __name__ == "__main__":
    with gr.Blocks() as demo:
        build()
    demo.launch()
