"""Tab: a GAN that writes integers from 0 to 99 that are all multiples of 5."""

import gradio as gr

from genai_core.pipelines.toy import figure_to_array, multiples_figure

from .common import check_int, check_seed, pipeline, seed_box, stats_markdown

LABELS = {
    "share_valid": "share that are multiples of 5",
    "evenness": "evenness over the 20 multiples (1 = uniform)",
    "values_covered": "multiples of 5 seen (of 20)",
    "tv_uniform": "distance to uniform (total variation)",
}


def generate(samples, seed):
    samples = check_int(samples, "Samples for the histogram", 10, 20000)
    values = pipeline("toy_multiples")(samples, check_seed(seed))
    batch = ", ".join(str(v) for v in values[:10])
    stats = stats_markdown(pipeline("toy_multiples").metrics(values), LABELS)
    return batch, figure_to_array(multiples_figure(values)), stats


API_EXAMPLES = {"toy_multiples_generate": (2000, 0)}
MAIN_BUTTON = "Generate"


def build() -> None:
    gr.Markdown("A GAN (book ch. 3) generates integers in 0..99. It should write only multiples "
                "of 5, and all twenty of them equally often: the book's version collapses onto a "
                "few values, this one judges packs of ten samples at once to avoid that.")  # fmt: skip
    with gr.Row():
        with gr.Column(scale=1):
            samples = gr.Slider(10, 20000, value=2000, step=10, label="Samples for the histogram")
            seed = seed_box()
            button = gr.Button("Generate", variant="primary")
        with gr.Column(scale=2):
            batch = gr.Textbox(label="A generated batch of ten", interactive=False)
            histogram = gr.Image(label="Histogram over 0..99", type="numpy", format="png")
            stats = gr.Markdown()
    button.click(generate, [samples, seed], [batch, histogram, stats], api_name="toy_multiples_generate")


if __name__ == "__main__":
    with gr.Blocks() as demo:
        build()
    demo.launch()
