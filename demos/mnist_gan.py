"""Tab: fully connected GANs on 28x28 images, MNIST digits or Fashion-MNIST garments: a seeded grid with
the referee classifier's reading under each item, and a latent walk exported as GIF."""

import gradio as gr
import numpy as np

from genai_core.images import labelled_grid, save_animation

from .common import check_int, check_seed, output_path, pipeline, seed_box, user_error

SCALE = 4  # 28-pixel images are shown 4x larger, with crisp nearest-neighbour pixels
# dataset choice -> (GAN, its referee)
DATASETS = {"MNIST digits": ("mnist_gan", "mnist_classifier"),
            "Fashion-MNIST garments": ("fashion_mnist_gan", "fashion_mnist_classifier")}
FIRST = next(iter(DATASETS))


def enlarge(image: np.ndarray, factor: int = SCALE) -> np.ndarray:
    return image.repeat(factor, axis=0).repeat(factor, axis=1)


def _models(dataset):
    if dataset not in DATASETS:
        raise user_error(f"Dataset must be one of: {', '.join(DATASETS)}")
    gan, referee = DATASETS[dataset]
    return pipeline(gan), pipeline(referee)


def grid(dataset, count, seed):
    """Item i from seed + i, the referee's class printed under it."""
    gan, referee = _models(dataset)
    count = check_int(count, "Number of images", 1, 64)
    images = gan.items(count, check_seed(seed))
    names = [referee.classes[c] for c in referee.predict(images)]
    return labelled_grid(images, names, nrow=min(count, 8), cell=28 * 3, smooth=False)


def walk(dataset, seed_a, seed_b, frames, fps):
    gan, _ = _models(dataset)
    frames = check_int(frames, "Frames", 2, 60)
    fps = check_int(fps, "Frames per second", 1, 30)
    images = gan.walk(check_seed(seed_a, "Seed A"), check_seed(seed_b, "Seed B"), frames)
    images = [enlarge(image) for image in images]
    gif = save_animation(images, output_path(".gif"), fps=fps)
    step = max(1, len(images) // 10)  # the strip shows at most ~10 frames
    strip = np.concatenate(images[::step], axis=1)
    return str(gif), strip, str(gif)


API_EXAMPLES = {"mnist_gan_grid": (FIRST, 36, 0), "mnist_gan_walk": (FIRST, 0, 1, 12, 8)}
MAIN_BUTTON = "Generate"


def build() -> None:
    gr.Markdown("Fully connected GANs (book ch. 4, thesis ch. 2) on 28x28 images. Item *i* of the grid comes "
                "from seed + *i*, so any one can be regenerated alone and used as a walk end point. Under "
                "each: what a separate referee classifier reads in it (see the model cards).")
    dataset = gr.Radio(list(DATASETS), value=FIRST, label="Dataset")
    with gr.Row():
        with gr.Column(scale=1):
            count = gr.Slider(1, 64, value=24, step=1, label="Number of images")
            seed = seed_box()
            button = gr.Button(MAIN_BUTTON, variant="primary")
        grid_image = gr.Image(label="Generated images, and the referee's reading", type="numpy", format="png",
                              scale=2)
    button.click(grid, [dataset, count, seed], grid_image, api_name="mnist_gan_grid")

    gr.Markdown("### Latent walk\nSpherical interpolation from seed A's image to seed B's.")
    with gr.Row():
        with gr.Column(scale=1):
            seed_a = seed_box(0, "Seed A")
            seed_b = seed_box(1, "Seed B")
            frames = gr.Slider(2, 60, value=24, step=1, label="Frames")
            fps = gr.Slider(1, 30, value=8, step=1, label="Frames per second")
            walk_button = gr.Button("Walk")
        with gr.Column(scale=2):
            animation = gr.Image(label="Walk (GIF)", type="filepath")
            strip = gr.Image(label="Frames", type="numpy", format="png")
            download = gr.File(label="Download GIF")
    walk_button.click(walk, [dataset, seed_a, seed_b, frames, fps], [animation, strip, download],
                      api_name="mnist_gan_walk")


if __name__ == "__main__":
    with gr.Blocks() as demo:
        build()
    demo.launch()
