"""Tab: train any registered model in the background, watch it, stop, resume and promote it.

Everything here can be called by anyone who reaches the app, so the core checks each request
(genai_core.train.jobs): training must be enabled, the edited config may not interpolate, point
outside the data folder, weights/ and runs/, or grow a preset's sizes without bound; the shipped
weights are never overwritten from here.
"""

from pathlib import Path

import gradio as gr
import pandas as pd
from omegaconf import OmegaConf

from genai_core.config import ConfigError, to_yaml
from genai_core.registry import REGISTRY, clear_pipelines, get
from genai_core.train.jobs import HIDDEN_KEYS, JobRefused, TrainingJobs, job_config, training_enabled

from . import serving
from .common import user_error

JOBS = TrainingJobs(work_slot=serving.WORK_SLOTS)  # one per app process: the single training slot
POLL_SECONDS = 2.0
MAIN_BUTTON = "Start"


def editable_config(model: str) -> str:
    cfg = OmegaConf.to_container(_spec(model).config(), resolve=True)
    for key in HIDDEN_KEYS:
        cfg.pop(key, None)
    return to_yaml(OmegaConf.create(cfg))


def _spec(model):
    if model not in REGISTRY:
        raise user_error(f"Model must be one of: {', '.join(REGISTRY)}")
    return get(model)


def _refuse_unless_enabled():
    enabled, why = training_enabled()
    if not enabled:
        raise user_error(f"Training is off: {why}.")


def parse_config(model: str, text: str):
    """The edited YAML, checked and merged onto the model's config (after the training-off check, so
    nothing of a visitor's text is even read when training is off)."""
    _spec(model)
    _refuse_unless_enabled()
    try:
        return job_config(model, text)
    except (ConfigError, KeyError) as err:
        raise user_error(f"Config: {err}") from None


def _check_data(model: str, cfg) -> None:
    """Refuse before starting when the run's data file is absent (a fresh clone has no ../shared), rather
    than say "Starting" and fail in the background; the message names the file, not a server path."""
    spec, path = get(model), cfg.data.get("path")
    if cfg.data.get("source") != spec.data_source or not path or not spec.data_file:
        return
    path = Path(path)
    wanted = path / spec.data_file if path.is_dir() or not path.suffix else path
    if not wanted.exists():
        raise user_error(f"Data: {spec.title} trains on {wanted.name}, which this server does not have "
                         f"(configs/tiny/{model}.yaml shows the data.source the project draws itself)")


def start(model: str, text: str, resume: bool):
    cfg = parse_config(model, text)
    _check_data(model, cfg)
    try:
        JOBS.start(model, cfg, resume=resume)
    except JobRefused as err:
        raise user_error(str(err)) from None
    verb = "Resuming" if resume else "Starting"
    return f"{verb} {get(model).title}: the status on the right shows its progress (or why it failed)."


def start_fresh(model, text):
    return start(model, text, resume=False)


def resume(model, text):
    return start(model, text, resume=True)


def stop():
    return JOBS.stop()


def promote(model: str):
    _spec(model)
    _refuse_unless_enabled()
    try:
        where = JOBS.promote(model)
    except JobRefused as err:
        raise user_error(str(err)) from None
    except Exception as err:  # noqa: BLE001 (a missing export is a message: WeightsError, OSError)
        raise user_error(str(err).replace(str(JOBS.runs_root), "the Train tab's run folder")) from None
    clear_pipelines()  # the tabs load the promoted weights on their next call
    return (f"Promoted the {model} run: the tabs now use it (copied to `{where}`). The shipped weights "
            "are unchanged; Revert goes back to them.")


def revert(model: str):
    _spec(model)
    _refuse_unless_enabled()
    try:
        reverted = JOBS.revert(model)
    except JobRefused as err:
        raise user_error(str(err)) from None
    if not reverted:
        return f"{model} already uses its shipped weights"
    clear_pipelines()
    return f"{model} uses its shipped weights again"


def curve_tables(history: list[dict]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A Trainer history -> long tables (step, value, series) of the training logs and the evaluations,
    for gr.LinePlot: the browser draws them, the server only sends numbers."""
    logs = [(h["step"], v, k) for h in history if "eval" not in h for k, v in h.items() if k != "step"]
    evals = [(h["step"], v, k) for h in history if "eval" in h for k, v in h["eval"].items()]
    columns = ["step", "value", "series"]
    return pd.DataFrame(logs, columns=columns), pd.DataFrame(evals, columns=columns)


def poll():
    status = JOBS.status()
    if status.state == "idle":
        enabled, why = training_enabled()
        empty = curve_tables([])
        return ("No job yet." if enabled else f"**Training is off:** {why}."), *empty, None
    progress = f"{status.step}/{status.total}" if status.total else "starting"
    text = (f"**{status.model}**: {status.state}, step {progress}, {status.wall_time:.0f} s. "
            f"{status.message}. Run folder: `{status.run_dir}`")
    return text, *curve_tables(status.history), status.sample


def build() -> None:
    enabled, why = training_enabled()
    intro = (
        "Train any registered model as a background job: closing the page does not stop it. One job "
        "runs at a time. Stop writes a resumable checkpoint; Promote makes the run's best weights the "
        "ones the other tabs use (the shipped weights stay on disk: Revert goes back to them)."
    )
    gr.Markdown(intro + ("" if enabled else f"\n\n**Training is off: {why}.**"))
    first = next(iter(REGISTRY))
    with gr.Row():
        with gr.Column(scale=1):
            model = gr.Dropdown([(spec.title, spec.name) for spec in REGISTRY.values()], value=first,
                                label="Model")
            with gr.Row():
                start_button = gr.Button(MAIN_BUTTON, variant="primary", interactive=enabled)
                resume_button = gr.Button("Resume", interactive=enabled)
                stop_button = gr.Button("Stop", variant="stop")
            with gr.Row():
                promote_button = gr.Button("Promote", interactive=enabled)
                revert_button = gr.Button("Revert to shipped", interactive=enabled)
            message = gr.Markdown()
            config = gr.Code(editable_config(first), language="yaml", label="Config (edit, then Start)",
                             max_lines=24)
        with gr.Column(scale=2):
            status = gr.Markdown()
            with gr.Row():
                losses = gr.LinePlot(x="step", y="value", color="series", label="Training logs", height=260)
                evals = gr.LinePlot(x="step", y="value", color="series", label="Evaluation", height=260)
            sample = gr.Image(label="Latest fixed-noise samples", type="numpy", format="png", height=300)
    model.change(editable_config, model, config, api_name="train_config")
    start_button.click(start_fresh, [model, config], message, api_name="train_start")
    resume_button.click(resume, [model, config], message, api_name="train_resume")
    stop_button.click(stop, None, message, api_name="train_stop")
    promote_button.click(promote, model, message, api_name="train_promote")
    revert_button.click(revert, model, message, api_name="train_revert")
    timer = gr.Timer(POLL_SECONDS)
    timer.tick(poll, None, [status, losses, evals, sample], api_name="train_status", show_progress="hidden")


if __name__ == "__main__":
    with gr.Blocks() as demo:
        build()
    demo.launch()
