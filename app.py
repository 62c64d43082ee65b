"""genai-playground: one tab per registered model, plus Train and About. Run: python app.py"""

import gradio as gr

from demos import about, serving, train
from genai_core.registry import resolve, tabs

QUEUE_SIZE = 32  # requests waiting beyond this are refused at once instead of piling up
# launch() settings the app needs wherever it is served (python app.py, a Space, the tests)
LAUNCH = {"max_file_size": serving.MAX_UPLOAD}


def build_app() -> gr.Blocks:
    serving.configure_threads()
    serving.make_image_cache_writes_atomic()  # same-seed requests must not corrupt each other's images
    serving.bound_native_memory()  # per-thread malloc arenas otherwise hoard freed tensor memory
    with gr.Blocks(title="genai-playground", delete_cache=(3600, 3600)) as app:
        gr.Markdown("# genai-playground\nSmall generative models, trained on a CPU, to play with.")
        with gr.Tabs():
            for spec in tabs():
                with gr.Tab(spec.title, id=spec.name, elem_id=f"tab-{spec.name}"):
                    resolve(spec.demo)()
            with gr.Tab("Train", id="train"):
                train.build()
            with gr.Tab("About", id="about"):
                about.build()
    app.queue(default_concurrency_limit=serving.WORKERS, max_size=QUEUE_SIZE)
    serving.harden(app)
    return app


demo = build_app()

if __name__ == "__main__":
    demo.launch(**LAUNCH)
