"""Tabs: the two toy GANs of book ch. 3 - points on the curve y = 1.08^x, and integers from 0 to 99
that should all be multiples of 5."""

import gradio as gr

from genai_core.plots import curve_figure, figure_to_array, multiples_figure

from .common import check_int, check_seed, pipeline, seed_box, stats_markdown

MAX_POINTS = 5000
CURVE_LABELS = {
    "mse": "MSE of y against 1.08^x",
    "coverage": "share of x in [0, 50] covered",
    "outside_range": "share of x outside [0, 50]",
}
MULTIPLES_LABELS = {
    "share_valid": "share that are multiples of 5",
    "evenness": "evenness over the 20 multiples (1 = uniform)",
    "values_covered": "multiples of 5 seen (of 20)",
    "tv_uniform": "distance to uniform (total variation)",
}
# Example inputs per endpoint: the load test and the API tests call every tab with these.
API_EXAMPLES = {"toy_curve_generate": (1000, 0), "toy_multiples_generate": (2000, 0)}
MAIN_BUTTON = "Generate"  # what the browser test clicks on each tab


def generate_curve(count, seed):
    count = check_int(count, "Number of points", 1, MAX_POINTS)
    points = pipeline("toy_curve")(count, check_seed(seed))
    metrics = pipeline("toy_curve").metrics(points)
    return figure_to_array(curve_figure(points)), stats_markdown(metrics, CURVE_LABELS)


def generate_multiples(samples, seed):
    samples = check_int(samples, "Samples for the histogram", 10, 20000)
    values = pipeline("toy_multiples")(samples, check_seed(seed))
    batch = ", ".join(str(v) for v in values[:10])
    stats = stats_markdown(pipeline("toy_multiples").metrics(values), MULTIPLES_LABELS)
    return batch, figure_to_array(multiples_figure(values)), stats


def build_curve() -> None:
    gr.Markdown("A tiny GAN (book ch. 3) learned to draw points (x, 1.08^x) for x in [0, 50] "
                "from 2-D noise. Orange: generated; black: the true curve.")
    with gr.Row():
        with gr.Column(scale=1):
            count = gr.Slider(1, MAX_POINTS, value=1000, step=1, label="Number of points")
            seed = seed_box()
            button = gr.Button(MAIN_BUTTON, variant="primary")
        with gr.Column(scale=2):
            plot = gr.Image(label="Generated points", type="numpy", format="png")
            stats = gr.Markdown()
    button.click(generate_curve, [count, seed], [plot, stats], api_name="toy_curve_generate")


def build_multiples() -> None:
    gr.Markdown("A GAN (book ch. 3) generates integers in 0..99. It should write only multiples "
                "of 5, and all twenty of them equally often: the book's version collapses onto a "
                "few values, this one judges packs of ten samples at once to avoid that.")
    with gr.Row():
        with gr.Column(scale=1):
            samples = gr.Slider(10, 20000, value=2000, step=10, label="Samples for the histogram")
            seed = seed_box()
            button = gr.Button(MAIN_BUTTON, variant="primary")
        with gr.Column(scale=2):
            batch = gr.Textbox(label="A generated batch of ten", interactive=False)
            histogram = gr.Image(label="Histogram over 0..99", type="numpy", format="png")
            stats = gr.Markdown()
    button.click(generate_multiples, [samples, seed], [batch, histogram, stats],
                 api_name="toy_multiples_generate")


if __name__ == "__main__":
    with gr.Blocks() as demo:
        with gr.Tab("Curve"):
            build_curve()
        with gr.Tab("Multiples of 5"):
            build_multiples()
    demo.launch()
