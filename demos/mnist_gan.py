"""Tab: digits from the MLP GAN, a seeded grid and a latent walk exported as GIF."""

import gradio as gr
import numpy as np

from genai_core.images import save_animation

from .common import check_int, check_seed, output_path, pipeline, seed_box

SCALE = 4  # 28-pixel digits are shown 4x larger, with crisp nearest-neighbour pixels


def enlarge(image: np.ndarray, factor: int = SCALE) -> np.ndarray:
    return image.repeat(factor, axis=0).repeat(factor, axis=1)


def grid(count, seed):
    count = check_int(count, "Number of digits", 1, 64)
    return enlarge(pipeline("mnist_gan").grid(count, check_seed(seed)), 2)


def walk(seed_a, seed_b, frames, fps):
    frames = check_int(frames, "Frames", 2, 60)
    fps = check_int(fps, "Frames per second", 1, 30)
    images = pipeline("mnist_gan").walk(check_seed(seed_a, "Seed A"), check_seed(seed_b, "Seed B"), frames)
    images = [enlarge(image) for image in images]
    gif = save_animation(images, output_path(".gif"), fps=fps)
    step = max(1, len(images) // 10)  # the strip shows at most ~10 frames
    strip = np.concatenate(images[::step], axis=1)
    return str(gif), strip, str(gif)


API_EXAMPLES = {"mnist_gan_grid": (36, 0), "mnist_gan_walk": (0, 1, 12, 8)}
MAIN_BUTTON = "Generate"


def build() -> None:
    gr.Markdown("An MLP GAN (thesis ch. 2) trained on MNIST. Digit *i* of the grid comes from "
                "seed + i, so any digit can be regenerated alone and used as a walk end point.")
    with gr.Row():
        with gr.Column(scale=1):
            count = gr.Slider(1, 64, value=36, step=1, label="Number of digits")
            seed = seed_box()
            button = gr.Button("Generate", variant="primary")
        grid_image = gr.Image(label="Generated digits", type="numpy", format="png", scale=2)
    button.click(grid, [count, seed], grid_image, api_name="mnist_gan_grid")

    gr.Markdown("### Latent walk\nSpherical interpolation from seed A's digit to seed B's.")
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
    walk_button.click(
        walk, [seed_a, seed_b, frames, fps], [animation, strip, download], api_name="mnist_gan_walk"
    )


if __name__ == "__main__":
    with gr.Blocks() as demo:
        build()
    demo.launch()
