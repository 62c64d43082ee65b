"""Tab: text to image by CLIP and a VQGAN (thesis ch. 3): the code prior's draw chosen by CLIP, or the
thesis' latent optimisation from random codes. Previews stream while it runs; Stop ends it between
two steps and keeps what was reached; snapshots and a morph video."""

import threading

import gradio as gr
import torch

from genai_core.checkpoint import WeightsError
from genai_core.data import face_captions
from genai_core.data.shapes import check_image, parse_prompt
from genai_core.images import image_grid, resize_square, save_animation
from genai_core.metrics.code_prior import reads_as_asked
from genai_core.pipelines.clip_vqgan import (
    MAX_PROMPT_CHARS,
    MAX_PROMPTS,
    OFFLINE_DEFAULTS,
    Keyframe,
    PromptSettings,
    pretrained_pair,
)
from genai_core.registry import load_composite, load_pipeline

from . import serving
from .common import (
    check_float,
    check_int,
    check_seed,
    check_text,
    image_array,
    output_path,
    seed_box,
    user_error,
)

# model choice -> the registry's shipped pair (None: the operator's pretrained models)
PAIRS = {
    "Offline pair: shapes world": "clip_vqgan_shapes",
    "Offline pair: real faces": "clip_vqgan_faces",
    "Local pretrained (taming VQGAN + Hugging Face CLIP)": None,
}
MODELS = tuple(PAIRS)
PRETRAINED = MODELS[2]
# the prompt a model choice starts with (the faces pair knows no shapes, and the reverse)
PROMPTS = {MODELS[0]: "a red circle above a blue square on a yellow background",
           MODELS[1]: "a photo of a smiling old man with glasses and a beard"}
STARTS = {"Code prior's draw, chosen by CLIP": "prior", "Random codes (the thesis)": "random"}
DEFAULT_PROMPT = PROMPTS[MODELS[0]]
DISPLAY = 256
FPS, FRAMES_PER_TRANSITION = 25, 12
MAIN_BUTTON = "Generate"
API_EXAMPLES = {
    "clip_vqgan_generate": (MODELS[0], "", "", DEFAULT_PROMPT, "", "", 1.0, 0.5, 1.0, 0.5,
                            OFFLINE_DEFAULTS["iterations"], 0.1, 8,
                            0.1, 64, 0, 10, next(iter(STARTS)), PromptSettings.candidates,
                            PromptSettings.beams, PromptSettings.stages, PromptSettings.guidance),
}

_stops: dict[str, threading.Event] = {}  # session -> its running generation's stop flag


def _pair(model, vqgan_dir, clip_name):
    if model not in PAIRS:
        raise user_error(f"Model must be one of: {'; '.join(MODELS)}")
    if PAIRS[model]:
        try:
            return load_composite(PAIRS[model])
        except (WeightsError, OSError) as err:
            raise user_error(f"The shipped models of '{model}' cannot be loaded: {err}") from None
    vqgan_dir = check_text(vqgan_dir, "VQGAN folder", 500)
    clip_name = check_text(clip_name, "CLIP folder", 500)
    if not vqgan_dir.strip() or not clip_name.strip():
        raise user_error("Local pretrained needs a VQGAN folder (last.ckpt, model.yaml) and a CLIP folder")
    try:
        return pretrained_pair(vqgan_dir.strip(), clip_name.strip())
    except (ValueError, WeightsError, OSError, ImportError) as err:
        raise user_error(f"The pretrained models cannot be loaded: {err}") from None


def _settings(include, exclude, extras, w1, w2, alpha, beta, iterations, lr, crops, noise, size, seed, every,
              start, candidates, beams, stages, guidance):
    if start not in STARTS:
        raise user_error(f"Start must be one of: {'; '.join(STARTS)}")
    include = check_text(include, "Include prompts", MAX_PROMPTS * (MAX_PROMPT_CHARS + 1))
    settings = PromptSettings(
        include=[line for line in include.splitlines() if line.strip()],
        exclude=check_text(exclude, "Exclude prompt", MAX_PROMPT_CHARS),
        extras=check_text(extras, "Extras prompt", MAX_PROMPT_CHARS),
        w1=check_float(w1, "w1", 0, 10),
        w2=check_float(w2, "w2", 0, 10),
        alpha=check_float(alpha, "alpha", 0, 10),
        beta=check_float(beta, "beta", 0, 10),
        iterations=check_int(iterations, "Iterations", 0, 500),  # validate(): at least 1 from random codes
        lr=check_float(lr, "Learning rate", 0.001, 2),
        crops=check_int(crops, "Crops", 1, 64),
        noise=check_float(noise, "Noise factor", 0, 1),
        size=check_int(size, "Size", 32, 256),
        seed=check_seed(seed),
        preview_every=check_int(every, "Preview every", 1, 500),
        start=STARTS[start],
        candidates=check_int(candidates, "Candidates", 1, 256),
        beams=check_int(beams, "Beams", 1, 64),
        stages=check_int(stages, "Stages", 1, 64),
        guidance=check_float(guidance, "Guidance", 0, 10),
    )
    try:
        settings.validate()
    except ValueError as err:
        raise user_error(str(err)) from None
    return settings


def _shown(prompt: str, limit: int = 80) -> str:
    """A prompt as the status shows it: long ones cut at a word, with an ellipsis."""
    return prompt if len(prompt) <= limit else prompt[:limit].rsplit(" ", 1)[0] + " …"


def _verdict(model, pair, image: torch.Tensor, prompt: str) -> str:
    """CLIP score, and for an offline pair what its judge reads of what was asked: the shapes world's
    checker, or the real-face referee for each attribute the prompt names."""
    line = f"CLIP score {pair.clip_score(image, prompt):.3f}"
    if model == MODELS[0] and parse_prompt(prompt) is not None:
        checks = check_image(image, prompt)
        line += " · checker: " + ", ".join(f"{k} {'✓' if ok else '✗'}" for k, ok in checks.items())
    elif model == MODELS[1] and (spec := face_captions.parse_prompt(prompt)):
        referee = load_pipeline("real_face_referee")
        checks = {k: reads_as_asked(referee, image[None], [{k: v}])[0] for k, v in spec.items()}
        names = {"male": "sex", "young": "age", "eyeglasses": "glasses", "hair_colour": "hair"}
        line += " · referee: " + ", ".join(f"{names.get(k, k)} {'✓' if ok else '✗'}"
                                           for k, ok in checks.items())
    return line


def generate(model, vqgan_dir, clip_name, include, exclude, extras, w1, w2, alpha, beta, iterations, lr,
             crops, noise, size, seed, every, start, candidates, beams, stages, guidance,
             request: gr.Request = None):
    """Streams (preview, snapshots, video, status) while optimising; one image per include prompt."""
    pair = _pair(model, vqgan_dir, clip_name)
    settings = _settings(include, exclude, extras, w1, w2, alpha, beta, iterations, lr, crops, noise, size,
                         seed, every, start, candidates, beams, stages, guidance)
    unknown = pair.unknown_words(settings)
    if unknown:
        raise user_error(f"The CLIP model does not know these words: {', '.join(sorted(set(unknown)))}")
    session = getattr(request, "session_hash", None) or "direct"
    stop = _stops[session] = threading.Event()
    should_stop = lambda: stop.is_set() or serving.client_gone(request)  # noqa: E731
    keyframes: list[Keyframe] = []
    lines: list[str] = []
    try:
        for event in pair.optimise(settings, should_stop=should_stop):
            if isinstance(event, Keyframe):
                keyframes.append(event)
                verdict = _verdict(model, pair, event.image, event.prompt)
                lines.append(f"**{_shown(event.prompt)}**: {verdict}")
                continue
            total = len(settings.include)
            where = "the prior's draw" if event.step == 0 else f"step {event.step}/{settings.iterations}"
            status = f"Prompt {event.prompt_index + 1}/{total}, {where}, loss {event.loss:.3f}"
            preview = image_array(resize_square(event.image[None], DISPLAY)[0])
            yield preview, None, None, "\n\n".join([*lines, status])
    except ValueError as err:
        raise user_error(str(err)) from None
    finally:
        _stops.pop(session, None)
    if not keyframes:
        return
    # one prompt: morph through its snapshots; several: from each prompt's result to the next
    latents = keyframes[0].latents if len(keyframes) == 1 else [k.latents[-1] for k in keyframes]
    video = None
    if len(latents) > 1:
        frames = pair.morph(latents, FRAMES_PER_TRANSITION)
        video = str(save_animation([image_array(f) for f in resize_square(torch.stack(frames), DISPLAY)],
                                   output_path(".mp4"), fps=FPS))
    else:
        lines.append("_The morph video needs two snapshots: add iterations or another include prompt._")
    results = resize_square(torch.stack([k.image for k in keyframes]), DISPLAY // 2)
    snapshots = image_grid(results, nrow=len(keyframes))
    stopped = " Stopped early." if stop.is_set() else ""
    yield (image_array(resize_square(keyframes[-1].image[None], DISPLAY)[0]), snapshots, video,
           "\n\n".join(lines) + stopped)


def stop_generation(request: gr.Request = None):
    flag = _stops.get(getattr(request, "session_hash", None) or "direct")
    if flag is not None:
        flag.set()


def _model_changed(model):
    """Folders for the pretrained pair, which has no code prior: it starts from random codes. An offline
    pair gets a prompt its world knows."""
    pretrained = model == PRETRAINED
    start = list(STARTS)[1] if pretrained else next(iter(STARTS))
    prompt = gr.update(value=PROMPTS[model]) if model in PROMPTS else gr.update()
    return gr.update(visible=pretrained), gr.update(visible=pretrained), gr.update(value=start), prompt


def _start_changed(start):
    """The thesis needs its steps; the prior's draw is a result by itself."""
    return gr.update(value=OFFLINE_DEFAULTS["iterations"] if STARTS.get(start) == "prior" else 100)


def build() -> None:
    gr.Markdown(
        "Text to image with CLIP and a VQGAN (thesis ch. 3), with two **offline pairs** the project trained: "
        "a procedural shapes world (colours, circle/square/triangle, above/below/left of/right of, "
        "backgrounds) and real face photos (man/woman, young/old, glasses, sunglasses, smiling, beard, "
        "blond/black/brown/gray hair). It makes one picture at a time for the whole server: while it "
        "runs, other requests wait in the queue."
    )
    with gr.Row():
        with gr.Column(scale=1):
            model = gr.Radio(list(MODELS), value=MODELS[0], label="Model")
            vqgan_dir = gr.Textbox(label="VQGAN folder in pretrained/ (last.ckpt + model.yaml)",
                                   value="vqgan_imagenet_f16_16384", visible=False,
                                   max_length=500)
            clip_name = gr.Textbox(label="CLIP folder in pretrained/", value="clip-vit-base-patch32",
                                   visible=False, max_length=500)
            include = gr.Textbox(DEFAULT_PROMPT, lines=2, label="Include prompts (one image per line)",
                                 max_length=MAX_PROMPTS * (MAX_PROMPT_CHARS + 1))
            with gr.Row():
                button = gr.Button(MAIN_BUTTON, variant="primary")
                stop = gr.Button("Stop", variant="stop")
            with gr.Row():
                iterations = gr.Slider(0, 500, value=OFFLINE_DEFAULTS["iterations"], step=1,
                                       label="Iterations (0: the prior's draw only)")
                seed = seed_box()
            start = gr.Radio(list(STARTS), value=next(iter(STARTS)), label="Start from")
            with gr.Accordion("Exclude and extras prompts", open=False):
                exclude = gr.Textbox(label="Exclude prompt (optional)", max_length=MAX_PROMPT_CHARS)
                extras = gr.Textbox(label="Extras prompt (optional, added to every include prompt)",
                                    max_length=MAX_PROMPT_CHARS)
            with gr.Accordion("Weights and optimiser", open=False):
                w1 = gr.Slider(0, 5, value=1, step=0.1, label="w1 (include)")
                w2 = gr.Slider(0, 5, value=0.5, step=0.1, label="w2 (extras)")
                alpha = gr.Slider(0, 5, value=1, step=0.1, label="alpha (pull to target)")
                beta = gr.Slider(0, 5, value=0.5, step=0.1, label="beta (push from exclude)")
                lr = gr.Slider(0.001, 2, value=0.1, step=0.001, label="Learning rate (AdamW)")
                crops = gr.Slider(1, 64, value=16, step=1, label="Crops per step")
                noise = gr.Slider(0, 1, value=0.1, step=0.01, label="Noise factor")
                size = gr.Slider(32, 256, value=64, step=16, label="Size (pixels)")
                every = gr.Slider(1, 100, value=10, step=1, label="Preview / snapshot every N steps")
            with gr.Accordion("Code prior (offline pair)", open=False):
                candidates = gr.Slider(1, 256, value=PromptSettings.candidates, step=1,
                                       label="Candidates the prior draws at each stage")
                beams = gr.Slider(1, 64, value=PromptSettings.beams, step=1,
                                  label="Beams (candidates CLIP keeps at each stage)")
                stages = gr.Slider(1, 16, value=PromptSettings.stages, step=1,
                                   label="Stages (parts of the grid; 1 = best of candidates)")
                guidance = gr.Slider(0, 5, value=PromptSettings.guidance, step=0.1,
                                     label="Guidance (classifier-free; 1 = off)")
            with gr.Accordion("How it works", open=False):
                gr.Markdown(
                    "By default the code prior draws 64 pictures for the prompt's CLIP embedding and CLIP "
                    "keeps the best (how often that reads as the prompt: weights/code_prior_shapes/card.md); "
                    "add iterations to let the thesis' optimiser refine it (random crops of the picture "
                    "scored by CLIP against the include, extras and exclude prompts), or start from "
                    "**random codes** as the thesis does (its collages rarely read as scenes). With real "
                    "checkpoints in the server's `pretrained/` folder, choose **local pretrained** and name "
                    "their folders."
                )
        with gr.Column(scale=1):
            preview = gr.Image(label="Preview", format="png", height=DISPLAY)
            status = gr.Markdown()
            snapshots = gr.Image(label="Result of each prompt", format="png")
            video = gr.Video(label=f"Morph video ({FPS} fps)", loop=True, height=DISPLAY)
    model.change(_model_changed, model, [vqgan_dir, clip_name, start, include])
    start.change(_start_changed, start, iterations)
    inputs = [model, vqgan_dir, clip_name, include, exclude, extras, w1, w2, alpha, beta, iterations, lr,
              crops, noise, size, seed, every, start, candidates, beams, stages, guidance]
    button.click(generate, inputs, [preview, snapshots, video, status], api_name="clip_vqgan_generate",
                 concurrency_limit=1)
    stop.click(stop_generation, None, None, api_name="clip_vqgan_stop", queue=False)


if __name__ == "__main__":
    with gr.Blocks() as demo:
        build()
    demo.launch()
