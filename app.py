"""genai-playground: a top-level tab per group of models (the book's chapters), each holding one tab per
model, plus Train and About. Run: python app.py"""

import gradio as gr

from demos import about, serving, train
from genai_core.registry import resolve, tab_groups

QUEUE_SIZE = 32  # requests waiting beyond this are refused at once instead of piling up
# launch() settings the app needs wherever it is served (python app.py, a Space, the tests)
LAUNCH = {"max_file_size": serving.MAX_UPLOAD}


def build_app() -> gr.Blocks:
    serving.configure_threads()
    serving.skip_queue_analytics()
    serving.make_image_cache_writes_atomic()  # same-seed requests must not corrupt each other's images
    serving.bound_native_memory()  # per-thread malloc arenas otherwise hoard freed tensor memory
    with gr.Blocks(title="genai-playground", delete_cache=(3600, 3600)) as app:
        gr.Markdown("# genai-playground\nSmall generative models, trained on a CPU, to play with.")
        with gr.Tabs():
            for group, specs in tab_groups().items():
                with gr.Tab(group, id=f"group-{specs[0].name}"):
                    if len(specs) == 1:  # no second row of tabs for a group of one
                        with gr.Column(elem_id=f"tab-{specs[0].name}"):
                            resolve(specs[0].demo)()
                        continue
                    with gr.Tabs():
                        for spec in specs:
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
