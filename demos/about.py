"""Tab: what the app is, where each model's data comes from, and the data licences."""

import gradio as gr

from genai_core.checkpoint import WEIGHTS_NAME
from genai_core.registry import REGISTRY

ABOUT = """
**genai-playground** puts sliders and buttons on small generative models, each trained on a CPU by
this project (`python -m genai_core train MODEL`) and shipped in `weights/` with a model card.
The models follow *Learn Generative AI with PyTorch* (M. Liu) and a thesis on GANs and CLIP+VQGAN,
with the book's known bugs fixed; each card lists where and why it departs from the book.

### Data and licences
| data | used by | licence |
|---|---|---|
| MNIST (LeCun, Cortes, Burges) | MNIST GAN, digit autoencoder, referee classifier | CC BY-SA 3.0 |
| Fashion-MNIST (Zalando Research) | Fashion-MNIST GAN and its referee | MIT |
| LFW (UMass Amherst); labels of Kumar et al. 2009 | real-face models (1) | research use; labels GPL-3.0 |
| Celeb1k: CelebAMask-HQ photos, hair masks, labels | real-face models (1) | non-commercial research |
| CelebA-HQ-style photos (real_faces_128) | real-face models (1) | non-commercial research |
| Procedurally generated points and integers | toy GANs | made by this project |
| Procedurally rendered, labelled faces | procedural-faces models, tests, examples | made by this project |
| Procedurally rendered, captioned coloured shapes | CLIP + VQGAN (offline pair) | made by this project |
| Anime faces (Kaggle "animefacedataset") | DCGAN | game art: research and demo use only |
| *Anna Karenina* (Gutenberg, C. Garnett translation) | LSTM | public domain |
| Tatoeba / manythings.org English-French pairs | Transformer | CC-BY 2.0 FR |

(1) the real-face referee, cWGAN-GP, CycleGAN and face VAE. The models trained on real faces inherit
their data's terms: **research and non-commercial use**.
Photos you upload are converted in memory and in the server's temporary files (deleted after an hour);
the app keeps no copy. The only photos from these data sets in this repository are the hair-colour
tab's six examples (`demos/examples/lfw_*.jpg`, LFW photos of people held out from training, under
LFW's research-use terms); the other examples are faces the project draws.

Training data is never part of this repository; see `../shared/data/SOURCES.md` and the README.
"""


def model_table() -> str:
    rows = []
    for spec in REGISTRY.values():
        shipped = "yes" if (spec.weights_dir / WEIGHTS_NAME).is_file() else "no"
        card = f"weights/{spec.name}/card.md"
        rows.append(f"| {spec.title} | `{spec.name}` | {shipped} | {card} |")
    return "| model | registry name | weights shipped | card |\n|---|---|---|---|\n" + "\n".join(rows)


def build() -> None:
    gr.Markdown(ABOUT)
    gr.Markdown("### Models\n" + model_table())
