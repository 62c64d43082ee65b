"""Text to image by prompt optimisation (thesis ch. 3): a VQGAN latent is changed step by step so that
CLIP embeds random augmented crops of its decoded image close to the text.

    loss = -alpha * cos(crops, normalise(w1 * include + w2 * extras)) + beta * cos(crops, exclude)

Where the latent starts: the thesis starts from random codes ("random"). The offline pair starts by
default from a picture its code prior draws for the prompt ("prior"): a small GPT over the VQGAN's
codes, conditioned on CLIP's embedding of the target (CLIP-GEN), sampled `candidates` times, the
draw with the best thesis loss kept (or a beam search that loss steers, see prior_draw); the
optimiser can then refine it. The small CLIP's cosine is highest on patchworks, not scenes
(weights/clip_shapes/card.md), so from random codes the optimiser rarely draws a scene of the world;
the prior's draws almost always are scenes.

Departures from the thesis: snapshots are detached copies (the thesis keeps the live tensor, so every
"snapshot" ends up as the last image); an empty exclude (or extras) prompt simply drops its term (the
thesis crashes); the morph easing is (1 - cos(pi t)) / 2, which really goes from 0 to 1 (the thesis'
sin(1.5 t)^6 stops at 0.98, so each morph jumps at its end).
"""

import functools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F

from .base import bf16_autocast

MAX_PROMPTS = 6
MAX_PROMPT_CHARS = 300  # CLIP reads 77 tokens at most; longer text is only cost (and echoed in the status)
# A request's work: crop-steps of the optimiser + 10 x the prior's draws (a draw costs about ten
# crop-steps), over all include prompts. The cap keeps one request to about a minute of one core.
MAX_WORK = 24_000
STARTS = ("prior", "random")
# What the tab starts with for the offline pair (the search's own defaults are PromptSettings'): the
# thesis' steps after the prior's draw lowered fidelity (weights/code_prior_shapes/card.md)
OFFLINE_DEFAULTS = {"start": "prior", "iterations": 0}


@dataclass
class PromptSettings:
    include: list[str]  # one image per prompt
    exclude: str = ""
    extras: str = ""
    w1: float = 1.0  # weight of each include prompt in the target
    w2: float = 0.5  # weight of the extras prompt in the target
    alpha: float = 1.0  # pull towards the target
    beta: float = 0.5  # push away from the exclude prompt
    iterations: int = 100
    lr: float = 0.1
    crops: int = 16
    noise: float = 0.1  # std of the noise added to the crops (the thesis' noise factor)
    size: int = 64  # image side; a multiple of the VQGAN's downsampling factor
    seed: int = 0
    preview_every: int = 10
    start: str = "random"  # "random": random codes (the thesis); "prior": the code prior's best draw
    candidates: int = 64  # continuations the prior draws at each stage of the search
    beams: int = 8  # continuations kept at each stage (the best by their completions' loss)
    stages: int = 1  # parts the grid is drawn in; 1 = the best of `candidates` complete draws
    guidance: float = 1.0  # classifier-free guidance of the prior (1 = plain conditional sampling)

    def validate(self, max_size: int = 256) -> None:
        prompts = [p.strip() for p in self.include if p and p.strip()]
        if not prompts:
            raise ValueError("write at least one prompt to include")
        if len(prompts) > MAX_PROMPTS:
            raise ValueError(f"at most {MAX_PROMPTS} include prompts (one image each), got {len(prompts)}")
        self.include = prompts
        for text in [*prompts, self.exclude, self.extras]:
            if len(text) > MAX_PROMPT_CHARS:
                raise ValueError(f"each prompt may be at most {MAX_PROMPT_CHARS} characters long")
        if self.start not in STARTS:
            raise ValueError(f"start must be one of {', '.join(STARTS)}, got {self.start!r}")
        least = 0 if self.start == "prior" else 1  # the prior's draw alone is a result
        checks = {"iterations": (least, 1000), "crops": (1, 64), "preview_every": (1, 1000),
                  "candidates": (1, 256), "beams": (1, 64), "stages": (1, 64)}
        for name, (low, high) in checks.items():
            if not low <= getattr(self, name) <= high:
                raise ValueError(f"{name} must be from {low} to {high}, got {getattr(self, name)}")
        for name in ("w1", "w2", "alpha", "beta", "noise", "guidance"):
            if not 0 <= getattr(self, name) <= 10:
                raise ValueError(f"{name} must be from 0 to 10, got {getattr(self, name)}")
        if not 0 < self.lr <= 5:
            raise ValueError(f"learning rate must be in (0, 5], got {self.lr}")
        if not 32 <= self.size <= max_size:
            raise ValueError(f"size must be from 32 to {max_size}, got {self.size}")
        if self.work() > MAX_WORK:
            raise ValueError(f"this asks for too much work at once ({self.work():,} units; at most "
                             f"{MAX_WORK:,}, where a unit is one crop of one step and a prior draw counts "
                             "10): use fewer prompts, iterations, crops, candidates or stages")

    def work(self) -> int:
        draws = self.candidates * self.stages if self.start == "prior" else 0
        return len(self.include) * (self.iterations * self.crops + 10 * draws)


@dataclass
class Progress:
    prompt_index: int
    step: int  # 1-based, after the update
    loss: float
    image: torch.Tensor  # (3, H, W) in [-1, 1], detached copy
    latent: torch.Tensor  # detached copy of the latent that drew it
    done: bool = False  # this prompt's last step


@dataclass
class Keyframe:
    """A prompt's result: its last snapshot, and every snapshot's latent (for the morph video)."""

    prompt: str
    image: torch.Tensor
    latents: list[torch.Tensor] = field(default_factory=list)


def prompt_generator(settings: PromptSettings, index: int) -> torch.Generator:
    """The random stream of include prompt `index` (its start, crops and noise): seeded per prompt."""
    return torch.Generator().manual_seed(settings.seed * 1000 + index)


def ease(t: torch.Tensor | float):
    """Cosine ease-in-out: 0 at t=0, 1 at t=1, zero slope at both ends."""
    t = torch.as_tensor(t, dtype=torch.float32).clamp(0, 1)
    return (1 - torch.cos(math.pi * t)) / 2


class CLIPGuidedVQGAN:
    """Couples a VQModel (genai_core.models.vqgan: taming layout or the shapes world's conv one) with a
    CLIP pipeline (embed_images, differentiable; embed_texts; unknown_words; input_size), and
    optionally a CodePrior over the VQGAN's codes conditioned on that CLIP's embeddings."""

    # the prior's candidates are decoded and scored in bf16 where the CPU has it: only their order
    # matters (benchmarks/clip_vqgan.py measures what it changes; the card says)
    bf16_scoring = True

    def __init__(self, vqgan, clip, prior=None):
        self.vqgan, self.clip, self.prior = vqgan, clip, prior
        self.factor = vqgan.downsample_factor

    def decode(self, latent: torch.Tensor) -> torch.Tensor:
        """Latent -> nearest codebook entries (straight-through) -> image (N, 3, H, W) in [-1, 1]."""
        return self.vqgan.decode(self.vqgan.quantize_latent(latent)).clamp(-1, 1)

    # -------------------------------------------------------- pieces
    def text_target(self, settings: PromptSettings, prompt: str) -> tuple[torch.Tensor, torch.Tensor | None]:
        """normalise(w1 * include + w2 * extras) and the exclude embedding (None when empty)."""
        target = settings.w1 * self.clip.embed_texts([prompt])[0]
        if settings.extras.strip():
            target = target + settings.w2 * self.clip.embed_texts([settings.extras.strip()])[0]
        exclude = self.clip.embed_texts([settings.exclude.strip()])[0] if settings.exclude.strip() else None
        return F.normalize(target, dim=0), exclude

    @staticmethod
    def loss(embedded: torch.Tensor, settings: PromptSettings, target, exclude) -> torch.Tensor:
        """The thesis loss of each embedded image (N,): -alpha * cos(target) + beta * cos(exclude)."""
        loss = -settings.alpha * (embedded @ target)
        return loss if exclude is None else loss + settings.beta * (embedded @ exclude)

    def crops(self, image: torch.Tensor, n: int, noise: float, generator: torch.Generator) -> torch.Tensor:
        """The thesis' augmentations: reflect pad, random flip, small affine (rotation, shear-free
        scale), random square crops resized to CLIP's input, plus Gaussian noise."""
        side, out = image.shape[-1], self.clip.input_size
        padded = F.pad(image, [side // 8] * 4, mode="reflect")
        r = lambda lo, hi: torch.empty(n).uniform_(lo, hi, generator=generator)  # noqa: E731
        angle, scale = r(-0.1, 0.1), r(0.55, 0.95)  # scale: crop side / padded side
        shift_x, shift_y = (1 - scale) * r(-1, 1), (1 - scale) * r(-1, 1)
        cos, sin = torch.cos(angle) * scale, torch.sin(angle) * scale
        theta = torch.stack([torch.stack([cos, -sin, shift_x], 1), torch.stack([sin, cos, shift_y], 1)], 1)
        grid = F.affine_grid(theta, (n, 3, out, out), align_corners=False)
        batch = F.grid_sample(padded.expand(n, -1, -1, -1), grid, mode="bilinear", align_corners=False)
        # no horizontal flips: "left of" / "right of" are part of the world's captions
        return batch + noise * torch.randn(batch.shape, generator=generator)

    def initial_latent(self, settings: PromptSettings, generator: torch.Generator) -> torch.Tensor:
        """A random codebook entry at each latent position, like the thesis' random init."""
        if settings.size % self.factor:
            raise ValueError(f"size must be a multiple of {self.factor} for this VQGAN, got {settings.size}")
        return self.vqgan.random_latent(1, settings.size // self.factor, generator)

    def check_start(self, settings: PromptSettings) -> None:
        if settings.start != "prior":
            return
        if self.prior is None:
            raise ValueError("this model pair has no code prior: start from random codes")
        side = settings.size // self.factor
        if side * side != self.prior.length:
            size = math.isqrt(self.prior.length) * self.factor
            raise ValueError(f"the code prior draws {size}x{size} pictures: set size {size} or start from "
                             "random codes")

    @torch.no_grad()
    def prior_draw(self, settings, target, exclude, generator, should_stop=lambda: False):
        """CLIP-guided beam search over the prior's codes. The grid is drawn in `stages` parts (in
        raster order); at each, the kept grids are continued to `candidates` in all, the prior
        completes every continuation, the completed pictures are scored by the thesis loss on the
        whole image, and the `beams` continuations with the best completions are kept. exclude is
        also the guidance's negative. Returns the best completed grid seen, as a latent (1, D, h, w),
        and its loss; one stage is the best of `candidates` draws. should_stop() is checked between
        stages (then the best grid so far is returned)."""
        length, side = self.prior.length, math.isqrt(self.prior.length)
        part = -(-length // settings.stages)
        kept = torch.zeros(1, 0, dtype=torch.long)
        best, best_loss = None, math.inf
        for stop in range(part, length + part, part):
            prefix = kept.repeat_interleave(max(1, settings.candidates // len(kept)), 0)
            n = len(prefix)
            conditions = {"cond": target.expand(n, -1), "guidance": settings.guidance,
                          "negative": None if exclude is None else exclude.expand(n, -1)}
            partial = self.prior.generate(prefix, generator, stop=min(stop, length), **conditions)
            complete = self.prior.generate(partial, generator, **conditions)
            latents = self.vqgan.quantize.embed_code(complete.view(n, side, side))
            with bf16_autocast(self.bf16_scoring):  # the winner is decoded again, in fp32, when shown
                pictures = self.vqgan.decode(latents).clamp(-1, 1)
                embeddings = self.clip.embed_images(pictures).float()
            loss = self.loss(embeddings, settings, target, exclude)
            order = loss.argsort()[: settings.beams]
            if loss[order[0]] < best_loss:
                best, best_loss = latents[order[0] : order[0] + 1].clone(), float(loss[order[0]])
            kept = partial[order]
            if should_stop():
                break
        # the winner's loss as the picture shown (decoded in fp32) has it
        best_loss = float(self.loss(self.clip.embed_images(self.vqgan.decode(best).clamp(-1, 1)), settings,
                                    target, exclude)[0])
        return best, best_loss

    def start_latent(self, settings, target, exclude, generator, should_stop=lambda: False):
        """(latent (1, D, h, w), its loss or None) where the optimiser starts."""
        if settings.start == "prior":
            return self.prior_draw(settings, target, exclude, generator, should_stop)
        return self.initial_latent(settings, generator), None

    # -------------------------------------------------------- the loop
    def optimise(
        self,
        settings: PromptSettings,
        should_stop: Callable[[], bool] = lambda: False,
        starts: list[torch.Tensor] | None = None,
    ) -> Iterator[Progress | Keyframe]:
        """Yields Progress every preview_every steps (and at each prompt's end), then a Keyframe per
        prompt. should_stop() is checked between steps; a stop ends the run after the current step
        and still yields the keyframe reached so far. starts: a latent (1, C, h, w) per include prompt
        to begin from instead of random codes (e.g. an encoded picture)."""
        settings.validate()
        self.check_start(settings)
        if starts is not None and len(starts) != len(settings.include):
            raise ValueError(f"{len(settings.include)} include prompts but {len(starts)} start latents")
        for word in self.unknown_words(settings):
            raise ValueError(f"the model does not know the word {word!r}")
        for index, prompt in enumerate(settings.include):
            generator = prompt_generator(settings, index)
            target, exclude = self.text_target(settings, prompt)
            if starts is None:
                start, loss = self.start_latent(settings, target, exclude, generator, should_stop)
            else:
                start, loss = starts[index], None
            latent = start.detach().clone().requires_grad_(True)
            optimizer = torch.optim.AdamW([latent], lr=settings.lr, weight_decay=0.0)
            snapshots: list[Progress] = []
            if settings.iterations == 0 or settings.start == "prior":  # the draw is the first snapshot
                with torch.no_grad():
                    shown = self.decode(latent)[0].clone()
                last = settings.iterations == 0
                snapshots.append(Progress(index, 0, loss if loss is not None else float("nan"), shown,
                                          latent.detach().clone(), done=last))
                yield snapshots[-1]
            for step in range(1, settings.iterations + 1):
                crops = self.crops(self.decode(latent), settings.crops, settings.noise, generator)
                loss = self.loss(self.clip.embed_images(crops), settings, target, exclude).mean()
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                stopping = should_stop()
                last = step == settings.iterations or stopping
                if step % settings.preview_every == 0 or last:
                    with torch.no_grad():
                        shown = self.decode(latent)[0].clone()
                    snapshot = Progress(index, step, loss.item(), shown, latent.detach().clone(), done=last)
                    snapshots.append(snapshot)
                    yield snapshot
                if stopping:
                    break
            yield Keyframe(prompt, snapshots[-1].image, [p.latent for p in snapshots])
            if should_stop():
                return

    def unknown_words(self, settings: PromptSettings) -> list[str]:
        texts = [*settings.include, settings.extras, settings.exclude]
        return [w for text in texts if text.strip() for w in self.clip.unknown_words(text)]

    @torch.no_grad()
    def morph(self, latents: list[torch.Tensor], frames_per_transition: int) -> list[torch.Tensor]:
        """Frames from each keyframe to the next with the cosine easing. The keyframes' quantised
        latents are blended (not re-quantised, so the morph is smooth): the first and last frames are
        exactly the keyframe images."""
        quantised = [self.vqgan.quantize_latent(z) for z in latents]
        frames = [self.vqgan.decode(quantised[0])[0]]
        for a, b in zip(quantised[:-1], quantised[1:], strict=True):
            for i in range(1, frames_per_transition + 1):
                e = ease(i / frames_per_transition)
                frames.append(self.vqgan.decode((1 - e) * a + e * b)[0])
        return [f.clamp(-1, 1) for f in frames]

    @torch.no_grad()
    def clip_score(self, image: torch.Tensor, prompt: str) -> float:
        """Cosine between CLIP's embedding of the whole image and of the prompt."""
        return float(self.clip.embed_images(image[None])[0] @ self.clip.embed_texts([prompt])[0])


# ---------------------------------------------------------------- the two ways to get a pair


def assemble_pair(vqgan, clip, prior) -> CLIPGuidedVQGAN:
    """A project-trained pair (registry composite): the VQGAN, CLIP and code prior pipelines; the prior
    must have been trained on this VQGAN's codes and this CLIP's embeddings."""
    prior.check_pairs_with(vqgan, clip)
    return CLIPGuidedVQGAN(vqgan.vqgan, clip, prior.prior)


PRETRAINED_ENV = "GENAI_PRETRAINED_DIR"  # where an operator puts real checkpoints (default: pretrained/)
DOWNLOADS_ENV = "GENAI_ALLOW_DOWNLOADS"  # "1": a CLIP hub name may be fetched (never by default)


def pretrained_root() -> Path:
    import os

    from ..config import PROJECT_ROOT

    return Path(os.environ.get(PRETRAINED_ENV) or PROJECT_ROOT / "pretrained").expanduser().resolve()


def _inside_pretrained_root(text: str, what: str) -> Path:
    """A folder the visitor named, which must lie inside pretrained_root(): the tab is public, and
    an arbitrary server path must neither be read nor reveal whether it exists."""
    root = pretrained_root()
    folder = Path(text).expanduser()
    folder = (folder if folder.is_absolute() else root / folder).resolve()
    if not folder.is_relative_to(root):
        raise ValueError(f"the {what} folder must be inside the pretrained-models folder "
                         f"(${PRETRAINED_ENV}, default pretrained/ in the project)")
    return folder


def pretrained_pair(vqgan_dir: str, clip_name_or_path: str) -> CLIPGuidedVQGAN:
    """A taming-transformers VQGAN folder (last.ckpt + model.yaml, or checkpoints/ + configs/ as in
    the released zip) and a Hugging Face CLIP folder, both inside pretrained_root() (relative names
    are taken from there). A CLIP hub name ("owner/name") is downloaded only where the operator set
    GENAI_ALLOW_DOWNLOADS=1 and no such folder exists; nothing else ever leaves the machine."""
    import os
    import re

    vqgan = _inside_pretrained_root(vqgan_dir, "VQGAN")
    name = clip_name_or_path.strip()
    hub_name = re.fullmatch(r"[\w.-]+/[\w.-]+", name) is not None
    if hub_name and os.environ.get(DOWNLOADS_ENV) == "1" and not (pretrained_root() / name).is_dir():
        return _pretrained_pair(str(vqgan), name)
    clip = _inside_pretrained_root(name, "CLIP")
    if not clip.is_dir():
        raise ValueError(f"there is no CLIP folder {name!r} in the pretrained-models folder (a hub name "
                         f"is fetched only where the operator set {DOWNLOADS_ENV}=1)")
    return _pretrained_pair(str(vqgan), str(clip))


@functools.lru_cache(maxsize=1)  # real models are large: keep only the last pair asked for
def _pretrained_pair(vqgan_dir: str, clip_name_or_path: str) -> CLIPGuidedVQGAN:
    from .clip import HFCLIPPipeline
    from .vqgan import load_taming_vqgan

    folder = Path(vqgan_dir)
    found = lambda *paths: next((p for p in paths if p.is_file()), None)  # noqa: E731
    ckpt = found(folder / "last.ckpt", folder / "checkpoints" / "last.ckpt")
    yaml = found(folder / "model.yaml", folder / "configs" / "model.yaml")
    if ckpt is None or yaml is None:
        raise ValueError("the VQGAN folder needs last.ckpt and model.yaml (or checkpoints/last.ckpt "
                         "and configs/model.yaml), as in taming's vqgan_imagenet_f16_16384")
    vqgan = load_taming_vqgan(ckpt, yaml).eval().requires_grad_(False)
    local = Path(clip_name_or_path)
    if local.is_dir():  # a folder on disk: never ask the hub
        clip = HFCLIPPipeline.from_pretrained(local, local_files_only=True)
    else:  # the operator allowed downloads (pretrained_pair checked)
        clip = HFCLIPPipeline.from_pretrained(clip_name_or_path)
    return CLIPGuidedVQGAN(vqgan, clip)
