"""Tab: English -> French with a small Transformer; greedy vs beam search, and cross-attention."""

import gradio as gr

from genai_core.pipelines.translator import MAX_SENTENCES, split_sentences

from .common import check_int, check_text, pipeline, user_errors

MAX_CHARS = 1500  # a paragraph: it is translated sentence by sentence
EXAMPLES = [  # the book's two sentences first
    ["Today is a beautiful day!"],
    ["I don't speak French."],
    ["The cat is sleeping on the table."],
    ["Where is the train station? I am lost. Can you help me?"],
]
MEAN = "mean"
API_EXAMPLES = {"translator_translate": ("Today is a beautiful day!", 4, 3, MEAN, "greedy")}
MAIN_BUTTON = "Translate"  # what the browser test clicks on this tab (the result: the heatmap image)


def _text(text) -> str:
    return check_text(text, "English", MAX_CHARS, empty="Type an English sentence to translate.").strip()


def _layer_head(model, layer, head):
    layers, heads = len(model.transformer.decoder), int(model.cfg.model.heads)
    layer = check_int(layer, "Layer", 1, layers) - 1
    if head == MEAN or head is None:
        return layer, None
    return layer, check_int(head, "Head", 1, heads) - 1


def _checked(text, beam, layer, head, heatmap_of):
    """Checked settings: (model, text, beam, layer, head, beam used for the heatmap)."""
    text = _text(text)
    beam = check_int(beam, "Beam size", 2, 8)
    model = pipeline("translator")
    layer, head = _layer_head(model, layer, head)
    return model, text, beam, layer, head, beam if heatmap_of == "beam search" else 1


def _notes(greedy, beamed) -> str:
    lines = [f"{len(greedy.sentences)} sentence{'s' * (len(greedy.sentences) > 1)}; greedy "
             f"{greedy.tokens_per_second:.0f} tokens/s, beam search {beamed.tokens_per_second:.0f} tokens/s."]
    lines += [f"Note: {note}." for note in greedy.notes]
    if len(greedy.sentences) > 1:
        lines.append("The heatmap shows the first sentence.")
    return "\n\n".join(lines)


@user_errors
def translate(text, beam, layer, head, heatmap_of):
    """Greedy and beam-search translations (sentence by sentence), the heatmap of the chosen decoding
    of the first sentence, and notes: speed, and any limit the text reached."""
    model, text, beam, layer, head, heatmap_beam = _checked(text, beam, layer, head, heatmap_of)
    greedy = model.translate_text(text, beam=1)
    beamed = model.translate_text(text, beam=beam)
    decoded = beamed if heatmap_beam > 1 else greedy  # the heatmap's decoding is already done
    heatmap = model.heatmap(greedy.sentences[0], layer, head, beam=heatmap_beam, out_ids=decoded.ids[0])
    return greedy.text, beamed.text, heatmap, _notes(greedy, beamed)


@user_errors
def attention(text, beam, layer, head, heatmap_of):
    """Only the heatmap of the first sentence (when the layer/head/decoding choice changes)."""
    model, text, _, layer, head, heatmap_beam = _checked(text, beam, layer, head, heatmap_of)
    return model.heatmap(split_sentences(text)[0], layer, head, beam=heatmap_beam)


def build() -> None:
    gr.Markdown(
        "An encoder-decoder Transformer (book ch. 9, scaled down: 3+3 layers, 4 heads, d_model 256) "
        "trained on 70k short Tatoeba English-French pairs with a BPE vocabulary learnt from them. "
        "**Greedy** takes the likeliest token at each step; **beam search** keeps several partial "
        "translations. Longer text is split into sentences (at most "
        f"{MAX_SENTENCES}), each translated on its own. The heatmap shows the decoder's cross-attention: "
        "for each French token (row), which English tokens (columns; `·` marks a word start) it looked at."
    )
    with gr.Row():
        with gr.Column(scale=1):
            text = gr.Textbox(value=EXAMPLES[0][0], label="English", lines=2, max_length=MAX_CHARS)
            beam = gr.Slider(2, 8, value=4, step=1, label="Beam size")
            with gr.Row():
                layer = gr.Slider(1, 3, value=3, step=1, label="Decoder layer")
                head = gr.Dropdown(["1", "2", "3", "4", MEAN], value=MEAN, label="Head")
            heatmap_of = gr.Radio(["greedy", "beam search"], value="greedy", label="Heatmap of")
            button = gr.Button(MAIN_BUTTON, variant="primary")
            gr.Examples(EXAMPLES, inputs=[text], api_name="translator_example")
        with gr.Column(scale=2):
            greedy = gr.Textbox(label="French (greedy)")
            beamed = gr.Textbox(label="French (beam search)")
            notes = gr.Markdown()
            image = gr.Image(label="Cross-attention", type="numpy")
    inputs = [text, beam, layer, head, heatmap_of]
    button.click(translate, inputs, [greedy, beamed, image, notes], api_name="translator_translate")
    text.submit(translate, inputs, [greedy, beamed, image, notes], api_name="translator_translate_submit")
    gr.on([layer.change, head.change, heatmap_of.change], attention, inputs, image,
          api_name="translator_attention")


if __name__ == "__main__":
    with gr.Blocks() as demo:
        build()
    demo.launch()
