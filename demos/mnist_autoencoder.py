"""Tab: the MLP autoencoder of book ch. 7 - draw a digit or pick a test digit, see its reconstruction
and where its 20-number code lands on a 2-D map (PCA) of the whole test set's codes."""


import gradio as gr
import numpy as np
import torch
from PIL import Image

from genai_core.data.mnist import EMPTY_DRAWING, digit_batch, prepare_drawing
from genai_core.metrics.mnist_autoencoder import reconstruction_metrics
from genai_core.plots import LatentMapPicture

from .common import bounded_sketchpad, check_int, check_seed, pipeline, seed_box, user_error, user_errors

NAME = "mnist_autoencoder"
SCALE = 8  # 28-pixel digits shown 8x larger, with crisp nearest-neighbour pixels


def _show(digit: torch.Tensor) -> np.ndarray:
    """(1, 28, 28) or (28, 28) in [-1, 1] -> enlarged HxWx3 uint8."""
    pixels = ((digit.reshape(28, 28).clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).numpy()
    return np.stack([pixels] * 3, axis=-1).repeat(SCALE, axis=0).repeat(SCALE, axis=1)


def _map_image(mark: np.ndarray | None = None) -> np.ndarray:
    """The test set's codes on the 2-D map, coloured by label, the current digit as a star (the map is
    drawn once per model; the star in milliseconds)."""
    ae = pipeline(NAME)
    latent_map, source = ae.latent_map, ae.test_set[2]
    key = id(latent_map)
    if key not in _MAPS:
        _MAPS.clear()  # a promoted model replaces the old one
        title = f"Codes of {len(latent_map.labels):,} {source}"
        _MAPS[key] = LatentMapPicture(latent_map.points, latent_map.labels, latent_map.explained, title)
    return _MAPS[key].marked(mark)


_MAPS: dict[int, LatentMapPicture] = {}


def _result(digits: torch.Tensor, caption: str, label: int | None = None):
    """uint8 digits (1, 28, 28) -> (input, reconstruction, map with its code marked, verdict)."""
    ae, referee = pipeline(NAME), pipeline("mnist_classifier")
    images = digit_batch(digits)
    reconstruction, point = ae.reconstruct_digits(digits)
    metrics = reconstruction_metrics(images, reconstruction)
    read_input, read_output = referee.predict(torch.cat([images, reconstruction]))
    verdict = (
        f"**{caption}**" + (f" - label **{label}**" if label is not None else "") + "\n\n"
        f"The referee classifier reads the input as **{read_input}** and the reconstruction as "
        f"**{read_output}**. Reconstruction error: MSE {metrics['mse']:.4f}, PSNR {metrics['psnr']:.1f} dB."
    )
    return _show(images[0]), _show(reconstruction[0]), _map_image(point), verdict


@user_errors
def reconstruct_test(index):
    digits, labels, source = pipeline(NAME).test_set
    index = check_int(index, "Test digit index", 0, len(digits) - 1)
    return _result(digits[index : index + 1], f"Test digit #{index}", int(labels[index]))


def random_test(seed):
    """A test digit picked by the seed: (its index for the slider, then the same as reconstruct_test)."""
    seed = check_seed(seed)
    size = len(pipeline(NAME).test_set[0])
    index = int(torch.randint(size, (1,), generator=torch.Generator().manual_seed(seed)))
    return (index, *reconstruct_test(index))


@user_errors
def reconstruct_drawing(drawing):
    """A Sketchpad value {'background', 'layers', 'composite'}, or a plain image (API callers)."""
    image = drawing.get("composite") if isinstance(drawing, dict) else drawing
    if image is None:
        raise user_error(EMPTY_DRAWING)
    if isinstance(image, str):  # a file path, when the API sends a file
        image = Image.open(image)
    digit = torch.from_numpy(prepare_drawing(image))[None]  # ValueError -> gr.Error (user_errors)
    return _result(digit, "Your drawing, normalised like MNIST")


@user_errors
def latent_map():
    return _map_image()


API_EXAMPLES = {
    "mnist_autoencoder_reconstruct_test": (0,),
    "mnist_autoencoder_random_test": (0,),
    "mnist_autoencoder_map": (),
}  # the drawing endpoint takes an image-editor payload; tests call its handler directly
MAIN_BUTTON = "Reconstruct"
PICK_BRUSH = """() => {
    let tries = 0;  // the tab's contents appear a moment after it is selected
    const pick = () => {
        const brush = document.querySelector('#digit-sketch button[aria-label="Brush"]');
        if (brush) brush.click(); else if (++tries < 50) setTimeout(pick, 100);
    };
    pick();
}"""


def build() -> None:
    try:  # the picker's range follows the digits this server has
        count, source = len(pipeline(NAME).test_set[0]), pipeline(NAME).test_set[2]
    except gr.Error:  # the model cannot load: the tab still builds, and its buttons say why
        count, source = 1, "test digits"
    gr.Markdown(
        "An MLP autoencoder (book ch. 7): 784 pixels -> 200 -> a code of **20 numbers** -> 200 -> 784, "
        "trained on MNIST to give back its input. Draw a digit or pick one of the "
        f"**{count:,} {source}**: you see what the network hands back, and where the code lands "
        "on a 2-D map (PCA) of their codes. Under the pictures: what the separate referee classifier "
        "reads in each."
    )
    with gr.Row():
        with gr.Column(scale=1):
            with gr.Tab("Test digit"):
                index = gr.Slider(0, count - 1, value=0, step=1,
                                  label=f"Test digit index (0-{count - 1:,}, {source})")
                button = gr.Button(MAIN_BUTTON, variant="primary")
                seed = seed_box()
                random_button = gr.Button("Random test digit")
            with gr.Tab("Draw") as draw_tab:
                sketch = bounded_sketchpad(
                    label="Draw one digit",
                    type="numpy",
                    image_mode="L",  # transparent canvas flattened on white: dark strokes on white
                    canvas_size=(280, 280),
                    brush=gr.Brush(default_size=10, colors=["#000000"], color_mode="fixed"),
                    layers=False,
                    transforms=(),
                    elem_id="digit-sketch",
                )
                draw_button = gr.Button("Reconstruct drawing")
            map_button = gr.Button("Show the map only")
        with gr.Column(scale=2):
            with gr.Row():
                original = gr.Image(label="Input (28x28)", type="numpy", format="png")
                reconstruction = gr.Image(label="Reconstruction", type="numpy", format="png")
            verdict = gr.Markdown()
            code_map = gr.Image(label="Latent map of the test set", type="numpy", format="png")
    outputs = [original, reconstruction, code_map, verdict]
    button.click(reconstruct_test, index, outputs, api_name="mnist_autoencoder_reconstruct_test")
    random_button.click(random_test, seed, [index, *outputs], api_name="mnist_autoencoder_random_test")
    draw_button.click(reconstruct_drawing, sketch, outputs, api_name="mnist_autoencoder_reconstruct_drawing")
    map_button.click(latent_map, None, code_map, api_name="mnist_autoencoder_map")
    # the sketchpad opens with no tool chosen and ignores strokes until one is: choose the brush
    draw_tab.select(lambda: None, js=PICK_BRUSH, queue=False, api_visibility="private")


if __name__ == "__main__":
    with gr.Blocks() as demo:
        build()
    demo.launch()
