"""Tab: train any registered model in the background, watch it, stop, resume and promote it."""

import shutil

import gradio as gr
import yaml
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from genai_core.config import ConfigError, apply_overrides, to_yaml
from genai_core.pipelines.toy import figure_to_array
from genai_core.registry import REGISTRY, get, load_pipeline
from genai_core.train.jobs import TrainingJobs, training_enabled
from genai_core.train.plots import history_figure

JOBS = TrainingJobs()  # one per app process: the single training slot
POLL_SECONDS = 2.0
HIDDEN_KEYS = ("name", "out_dir")  # set by the job itself


def editable_config(model: str) -> str:
    cfg = OmegaConf.to_container(get(model).config(), resolve=True)
    for key in HIDDEN_KEYS:
        cfg.pop(key)
    return to_yaml(OmegaConf.create(cfg))


def parse_config(model: str, text: str):
    """The edited YAML, merged onto the model's config: unknown keys and bad values are refused."""
    try:
        edited = OmegaConf.create(text or "{}")
    except (OmegaConfBaseException, ValueError, yaml.YAMLError) as err:
        raise gr.Error(f"The config is not valid YAML: {str(err).splitlines()[0]}") from None
    if not isinstance(edited, type(OmegaConf.create({}))):
        raise gr.Error("The config must be a YAML mapping of key: value")
    for key in HIDDEN_KEYS:
        if key in edited:
            raise gr.Error(f"'{key}' is set by the Train tab; remove it from the config")
    try:
        return apply_overrides(get(model).config(), OmegaConf.to_container(edited))
    except ConfigError as err:
        raise gr.Error(str(err)) from None


def start(model: str, text: str, resume: bool):
    if model not in REGISTRY:
        raise gr.Error(f"Unknown model {model!r}")
    cfg = parse_config(model, text)
    if resume and not JOBS.has_checkpoint(model):
        raise gr.Error(f"There is no {model} checkpoint to resume; press Start instead")
    try:
        JOBS.start(model, cfg, resume=resume)
    except RuntimeError as err:
        raise gr.Error(str(err)) from None
    return f"Started {model}" + (" (resuming)" if resume else "")


def start_fresh(model, text):
    return start(model, text, resume=False)


def resume(model, text):
    return start(model, text, resume=True)


def stop():
    return JOBS.stop()


def promote(model: str, overwrite_shipped: bool):
    spec = get(model)
    target = spec.weights_dir if overwrite_shipped else spec.promoted_dir
    status = JOBS.status()
    if status.state in ("running", "stopping") and status.model == model:
        raise gr.Error("Wait for the job to stop before promoting its weights")
    try:
        JOBS.promote(model, target, overwrite=True)
    except Exception as err:
        raise gr.Error(str(err)) from None
    load_pipeline.cache_clear()  # the other tabs load the promoted weights on their next call
    where = "the shipped weights (overwritten)" if overwrite_shipped else f"{target} (shipped weights kept)"
    return f"Promoted the {model} run to {where}; every tab now uses it."


def revert(model: str):
    spec = get(model)
    if not spec.promoted_dir.exists():
        return f"{model} already uses its shipped weights"
    shutil.rmtree(spec.promoted_dir)
    load_pipeline.cache_clear()
    return f"{model} uses its shipped weights again"


def poll():
    status = JOBS.status()
    if status.state == "idle":
        enabled, why = training_enabled()
        return ("No job yet." if enabled else f"**Training is off:** {why}."), None, None
    progress = f"{status.step}/{status.total}" if status.total else "starting"
    text = (f"**{status.model}**: {status.state}, step {progress}, {status.wall_time:.0f} s. "
            f"{status.message}. Run folder: `{status.run_dir}`")  # fmt: skip
    curves = figure_to_array(history_figure(status.history)) if status.history else None
    return text, curves, status.sample


def build() -> None:
    enabled, why = training_enabled()
    intro = (
        "Train any registered model as a background job: closing the page does not stop it. One job "
        "runs at a time. Stop writes a resumable checkpoint; Promote makes the run's best weights the "
        "ones the other tabs use."
    )
    gr.Markdown(intro + ("" if enabled else f"\n\n**{why}.**"))
    first = next(iter(REGISTRY))
    with gr.Row():
        with gr.Column(scale=1):
            model = gr.Dropdown(list(REGISTRY), value=first, label="Model")
            config = gr.Code(editable_config(first), language="yaml", label="Config (edit, then Start)")
            with gr.Row():
                start_button = gr.Button("Start", variant="primary", interactive=enabled)
                resume_button = gr.Button("Resume", interactive=enabled)
                stop_button = gr.Button("Stop", variant="stop")
            with gr.Row():
                overwrite = gr.Checkbox(False, label="Overwrite the shipped weights")
                promote_button = gr.Button("Promote")
                revert_button = gr.Button("Revert to shipped")
            message = gr.Markdown()
        with gr.Column(scale=2):
            status = gr.Markdown()
            curves = gr.Image(label="Curves", type="numpy", format="png")
            sample = gr.Image(label="Latest fixed-noise samples", type="numpy", format="png")
    model.change(editable_config, model, config, api_name="train_config")
    start_button.click(start_fresh, [model, config], message, api_name="train_start")
    resume_button.click(resume, [model, config], message, api_name="train_resume")
    stop_button.click(stop, None, message, api_name="train_stop")
    promote_button.click(promote, [model, overwrite], message, api_name="train_promote")
    revert_button.click(revert, model, message, api_name="train_revert")
    timer = gr.Timer(POLL_SECONDS)
    timer.tick(poll, None, [status, curves, sample], api_name="train_status", show_progress="hidden")


if __name__ == "__main__":
    with gr.Blocks() as demo:
        build()
    demo.launch()
