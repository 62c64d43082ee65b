"""Tab: points a GAN generates on the curve y = 1.08^x."""

import gradio as gr

from genai_core.pipelines.toy import curve_figure, figure_to_array

from .common import check_int, check_seed, pipeline, seed_box, stats_markdown

MAX_POINTS = 5000
LABELS = {
    "mse": "MSE of y against 1.08^x",
    "coverage": "share of x in [0, 50] covered",
    "outside_range": "share of x outside [0, 50]",
}


def generate(count, seed):
    count = check_int(count, "Number of points", 1, MAX_POINTS)
    points = pipeline("toy_curve")(count, check_seed(seed))
    metrics = pipeline("toy_curve").metrics(points)
    return figure_to_array(curve_figure(points)), stats_markdown(metrics, LABELS)


# Example inputs per endpoint: the load test and the API tests call every tab with these.
API_EXAMPLES = {"toy_curve_generate": (1000, 0)}
MAIN_BUTTON = "Generate"  # what the browser test clicks on this tab


def build() -> None:
    gr.Markdown("A tiny GAN (book ch. 3) learned to draw points (x, 1.08^x) for x in [0, 50] "
                "from 2-D noise. Orange: generated; black: the true curve.")  # fmt: skip
    with gr.Row():
        with gr.Column(scale=1):
            count = gr.Slider(1, MAX_POINTS, value=1000, step=1, label="Number of points")
            seed = seed_box()
            button = gr.Button("Generate", variant="primary")
        with gr.Column(scale=2):
            plot = gr.Image(label="Generated points", type="numpy", format="png")
            stats = gr.Markdown()
    button.click(generate, [count, seed], [plot, stats], api_name="toy_curve_generate")


if __name__ == "__main__":
    with gr.Blocks() as demo:
        build()
    demo.launch()
