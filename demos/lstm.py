"""Tab: word-level LSTM trained on Anna Karenina; streamed sampling with temperature, top-K, top-p."""

import time

import gradio as gr

from genai_core.pipelines.lstm import MAX_PROMPT_CHARS

from .common import check_float, check_int, check_seed, check_text, pipeline, seed_box, throttled, user_errors

MAX_LENGTH = 300
MAX_SAMPLES = 4
MAIN_BUTTON = "Generate"  # what the browser test clicks on this tab
BROWSER_RESULT = "textarea"  # the result is text, not an image
API_EXAMPLES = {"lstm_anna_generate": ("Anna said", 40, 0.8, 40, 0.95, 1.2, 1, 0)}


def _settings(prompt, length, temperature, top_k, top_p, penalty, seed):
    return dict(
        prompt=check_text(prompt, "Prompt", MAX_PROMPT_CHARS, empty="Type a prompt: at least one word."),
        length=check_int(length, "Length", 1, MAX_LENGTH),
        temperature=check_float(temperature, "Temperature", 0.0, 3.0),
        top_k=check_int(top_k, "Top-K", 0, 10_000),
        top_p=check_float(top_p, "Top-p", 0.01, 1.0),
        repetition_penalty=check_float(penalty, "Repetition penalty", 1.0, 3.0),
        seed=check_seed(seed),
    )


def format_samples(texts: list[str]) -> str:
    if len(texts) == 1:
        return texts[0]
    return "\n\n".join(f"[sample {i + 1}] {text}" for i, text in enumerate(texts))


@user_errors
def _first_checks(settings):
    # loading the model and tokenising the prompt raise here, before anything streams
    lstm = pipeline("lstm_anna")
    lstm.prompt_tokens(settings["prompt"])
    return lstm


def speed(tokens: int, seconds: float, samples: int = 1) -> str:
    per = f" ({samples} samples at once)" if samples > 1 else ""
    return f"{tokens} tokens in {seconds:.2f} s: **{tokens / max(seconds, 1e-9):.0f} tokens/s**{per}"


def generate(prompt, length, temperature, top_k, top_p, penalty, samples, seed):
    """Stream the samples as they grow (a generator: Gradio shows each partial text), with the speed."""
    settings = _settings(prompt, length, temperature, top_k, top_p, penalty, seed)
    n = check_int(samples, "Number of samples", 1, MAX_SAMPLES)
    lstm = _first_checks(settings)
    start = time.perf_counter()
    for made, texts in throttled(enumerate(lstm.stream(n=n, **settings), start=1)):
        yield format_samples(texts), speed(made * n, time.perf_counter() - start, n)


def compare(prompt, length, low, high, top_k, top_p, penalty, seed):
    """The same prompt and seed at a low and a high temperature, streamed side by side."""
    settings = _settings(prompt, length, 1.0, top_k, top_p, penalty, seed)
    low = check_float(low, "Low temperature", 0.0, 3.0)
    high = check_float(high, "High temperature", 0.0, 3.0)
    lstm = _first_checks(settings)
    cold = lstm.stream(**{**settings, "temperature": low})
    hot = lstm.stream(**{**settings, "temperature": high})
    for cold_texts, hot_texts in throttled(zip(cold, hot, strict=True)):
        yield cold_texts[0], hot_texts[0]


def build() -> None:
    gr.Markdown(
        "A word-level LSTM (book ch. 8) trained on the first seven parts of *Anna Karenina*; Part Eight is "
        "held out to measure perplexity (weights/lstm_anna/card.md). Sample *i* uses seed + *i*, so the "
        "same settings always give the same text."
    )
    with gr.Row():
        with gr.Column(scale=1):
            prompt = gr.Textbox(value="Anna and Vronsky", label="Prompt", lines=2)
            button = gr.Button(MAIN_BUTTON, variant="primary")
            with gr.Row():
                seed = seed_box()
                samples = gr.Slider(1, MAX_SAMPLES, value=1, step=1, label="Number of samples")
            length = gr.Slider(1, MAX_LENGTH, value=80, step=1, label="Length (tokens)")
            temperature = gr.Slider(0, 3, value=0.8, step=0.05, label="Temperature (0 = greedy)")
            with gr.Row():
                top_k = gr.Slider(0, 200, value=40, step=1, label="Top-K (0 = off)")
                top_p = gr.Slider(0.05, 1, value=0.95, step=0.01, label="Top-p (1 = off)")
            penalty = gr.Slider(1, 2, value=1.2, step=0.05, label="Repetition penalty (1 = off)")
            with gr.Accordion("What the settings do", open=False):
                gr.Markdown(
                    "Text is lower-cased and punctuation split off as in the book (the output is written "
                    "back with capitals and contractions); words it never saw become `<unk>`, so any prompt "
                    "works. **Temperature** 0 always takes the likeliest word; higher is more adventurous. "
                    "**Top-K** (0 = off) and **top-p** (1 = off) cut the unlikely tail; the **repetition "
                    "penalty** (1 = off) makes words it just wrote less likely."
                )
        with gr.Column(scale=2):
            output = gr.Textbox(label="Generated text (streams as it is written)", lines=14)
            rate = gr.Markdown()
    inputs = [prompt, length, temperature, top_k, top_p, penalty, samples, seed]
    button.click(generate, inputs, [output, rate], api_name="lstm_anna_generate")

    gr.Markdown("### Low vs high temperature\nSame prompt, seed, top-K and top-p; only the temperature "
                "differs.")
    with gr.Row():
        low = gr.Slider(0, 3, value=0.5, step=0.05, label="Low temperature")
        high = gr.Slider(0, 3, value=1.5, step=0.05, label="High temperature")
        compare_button = gr.Button("Compare")
    with gr.Row():
        cold = gr.Textbox(label="Low temperature", lines=10)
        hot = gr.Textbox(label="High temperature", lines=10)
    compare_button.click(compare, [prompt, length, low, high, top_k, top_p, penalty, seed], [cold, hot],
                         api_name="lstm_anna_compare")


if __name__ == "__main__":
    with gr.Blocks() as demo:
        build()
    demo.launch()
