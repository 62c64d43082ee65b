"""The code prior of the text-to-image tab: a small GPT over the shipped VQGAN's 8x8 code grids,
conditioned on the shipped CLIP's embedding of each scene (CLIP-GEN).

The data are the VQGAN's codes of fresh procedural scenes and CLIP's embeddings of them, computed
once when the run starts (both models are frozen; 200,000 scenes take about 4 minutes). Half of the
conditions are the image's embedding with a little noise, half the embedding of a caption in a
random phrasing: CLIP's image and text embeddings of a scene differ by a systematic gap (cosine
0.91 on average), and the tab conditions on text. A tenth of the conditions are dropped, so the
same network is an unconditional prior and can be sampled with classifier-free guidance.

The codes depend on the VQGAN and the conditions on the CLIP: the config records fingerprints of
both, and the tab refuses a prior trained on other models instead of drawing noise.
"""


import numpy as np
import torch
import torch.nn.functional as F
from omegaconf import OmegaConf

from ..data import face_captions
from ..data.shapes import caption, check_image, render_scenes, sample_scenes
from ..images import image_grid, to_model_range
from ..metrics.code_prior import reads_as_asked, reads_as_scene
from ..models.code_prior import build_code_prior
from ..pipelines.code_prior import clip_fingerprint, vqgan_fingerprint
from ..pipelines.face_referee import FaceRefereePipeline
from .task import EpochSampler, Task, decay_groups, warmup_cosine

EVAL_SEED = 3_000_000_019  # held-out scenes: far from every training seed
ENCODE_BATCH = 500


def scene_chunks(n: int, seed: int):
    """n fresh scenes in chunks of ENCODE_BATCH, deterministic from seed."""
    for start in range(0, n, ENCODE_BATCH):
        yield start, sample_scenes(min(ENCODE_BATCH, n - start), seed + start)


@torch.no_grad()
def encode_scenes(vqgan, clip, n: int, seed: int) -> dict[str, torch.Tensor]:
    """The n scenes of scene_chunks as "codes" (n, h * w) int16 (the VQGAN's; 512 codes fit), "image"
    and "text" (n, dim) float16: CLIP's embeddings of the render and of one caption in a random
    phrasing."""
    parts: dict[str, list[torch.Tensor]] = {"codes": [], "image": [], "text": []}
    for start, scenes in scene_chunks(n, seed):
        images = render_scenes(scenes, vqgan.size)
        rng = np.random.default_rng(seed + start)
        parts["codes"].append(vqgan.encode(images)[1].flatten(1).cpu().to(torch.int16))
        parts["image"].append(clip.embed_images(images).cpu().half())
        parts["text"].append(clip.embed_texts([caption(s, rng=rng) for s in scenes]).cpu().half())
    return {k: torch.cat(v) for k, v in parts.items()}


class CodePriorTask(Task):
    best_metric = "val_nll"
    higher_is_better = False

    def __init__(self, cfg, device):
        super().__init__(cfg, device)
        from ..registry import get

        self.vqgan, self.clip = get(cfg.data.vqgan).load_pipeline(), get(cfg.data.clip).load_pipeline()
        side = self.vqgan.latent_shape[1]
        cfg.model.n_codes, cfg.model.length = int(self.vqgan.vqgan.n_embed), side * side
        cfg.model.cond_dim = int(self.clip.embed_texts(["a"]).shape[1])
        cfg.data.vqgan_fingerprint = vqgan_fingerprint(self.vqgan)  # saved with the weights
        cfg.data.clip_fingerprint = clip_fingerprint(self.clip)
        self.side = side
        self.encode_data()
        self.sampler = EpochSampler(len(self.data["codes"]), int(cfg.batch_size), int(cfg.seed))
        self.prior = build_code_prior(cfg.model)["prior"].to(device)
        self.modules = {"prior": self.prior}
        groups = decay_groups(self.prior, cfg.weight_decay)  # every matrix, positions too (nanoGPT)
        self.optimizers = {"prior": torch.optim.AdamW(groups, lr=cfg.lr, betas=(0.9, 0.95))}

    def encode_data(self) -> None:
        """self.data (training codes and condition embeddings), self.val and self.val_prompts."""
        cfg = self.cfg
        self.data = encode_scenes(self.vqgan, self.clip, int(cfg.data.scenes), int(cfg.seed) * 1_000_003)
        self.val = encode_scenes(self.vqgan, self.clip, int(cfg.data.val_scenes), EVAL_SEED)
        self.val_prompts = [caption(s) for _, chunk in scene_chunks(int(cfg.data.val_scenes), EVAL_SEED)
                            for s in chunk]

    def steps_per_epoch(self) -> int:
        return len(self.sampler)

    def lr_at(self, step: int) -> float:
        """Linear warm-up, then cosine decay to a twentieth."""
        return warmup_cosine(step, self.cfg.lr, int(self.cfg.warmup), self.total_steps(), 0.05)

    def caption_embeddings(self, index: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """The caption embedding each row is conditioned on when it uses text (one per scene here)."""
        return self.data["text"][index].float()

    def conditions(self, index: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """A training condition per scene: its caption's embedding, or its image's with noise (the
        noise spreads image embeddings about as far as captions lie from them), or none (NaN)."""
        n = len(index)
        text, image = self.caption_embeddings(index, generator), self.data["image"][index].float()
        noise = torch.randn(image.shape, generator=generator) * float(self.cfg.image_noise)
        image = F.normalize(image + noise, dim=1)
        use_text = torch.rand(n, 1, generator=generator) < float(self.cfg.text_share)
        cond = torch.where(use_text, text, image)
        dropped = torch.rand(n, 1, generator=generator) < float(self.cfg.drop_condition)
        return torch.where(dropped, torch.full_like(cond, float("nan")), cond)

    def train_step(self, step):
        index = self.sampler.indices(step)
        generator = torch.Generator().manual_seed(int(self.cfg.seed) * 1_000_003 + step)
        codes = self.data["codes"][index].long().to(self.device)
        logits = self.prior(codes, self.conditions(index, generator).to(self.device))
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), codes.reshape(-1))
        optimizer = self.optimizers["prior"]
        for group in optimizer.param_groups:
            group["lr"] = self.lr_at(step)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.prior.parameters(), 1.0)
        optimizer.step()
        return {"loss": loss.item()}

    def samples(self, n: int, cond: torch.Tensor | None = None, seed: int = 0) -> torch.Tensor:
        generator = torch.Generator().manual_seed(seed)
        empty = torch.zeros(n, 0, dtype=torch.long, device=self.device)
        cond = None if cond is None else cond.to(self.device)
        codes = self.prior.generate(empty, generator, cond=cond).view(n, self.side, self.side)
        return self.vqgan.decode_code(codes).cpu()

    def evaluate(self):
        """Held-out scenes: val_nll, nats per code given the canonical caption's embedding (uniform
        codes: ln 512 = 6.2) and unconditional_nll; text_fidelity, the share of one sample per
        caption that the checker passes; scene_like, the share of unconditional samples it reads as
        some scene of the world."""
        n = int(self.cfg.eval.samples)
        codes, text = self.val["codes"].long().to(self.device), self.clip.embed_texts(self.val_prompts)
        nll = self.prior.nll(codes, text.to(self.device)).mean()
        unconditional = self.prior.nll(codes).mean()
        drawn, prompts = self.samples(n, text[:n]), self.val_prompts[:n]
        passed = [check_image(image, prompt)["all"] for image, prompt in zip(drawn, prompts, strict=True)]
        free = self.samples(n)
        return {"val_nll": float(nll), "unconditional_nll": float(unconditional),
                "text_fidelity": float(np.mean(passed)),
                "scene_like": float(np.mean([reads_as_scene(i) for i in free]))}

    def sample_grid(self):
        """Top row: held-out captions' samples; bottom row: unconditional samples."""
        conditioned = self.samples(8, self.clip.embed_texts(self.val_prompts[:8]))
        return image_grid(torch.cat([conditioned, self.samples(8)]), nrow=8)


@torch.no_grad()
def encode_photos(vqgan, clip, photos: torch.Tensor, specs: list[dict], captions_per_photo: int,
                  seed: int) -> dict[str, torch.Tensor]:
    """Photos (uint8) and their mirror images as "codes" (2N, h * w) int16, "image" (2N, dim) and
    "text" (2N, captions_per_photo, dim) float16: the VQGAN's codes, CLIP's embedding of the photo and
    of captions composed from its labels (genai_core.data.face_captions)."""
    parts: dict[str, list[torch.Tensor]] = {"codes": [], "image": [], "text": []}
    rng = np.random.default_rng(seed)
    for mirrored in (False, True):
        for start in range(0, len(photos), ENCODE_BATCH):
            images = to_model_range(photos[start : start + ENCODE_BATCH])
            images = images.flip(3) if mirrored else images
            chunk = specs[start : start + ENCODE_BATCH]
            parts["codes"].append(vqgan.encode(images)[1].flatten(1).cpu().to(torch.int16))
            parts["image"].append(clip.embed_images(images).cpu().half())
            texts = [face_captions.caption(s, rng) for s in chunk for _ in range(captions_per_photo)]
            text = clip.embed_texts(texts).cpu().half()
            parts["text"].append(text.view(len(chunk), captions_per_photo, -1))
    return {k: torch.cat(v) for k, v in parts.items()}


class FaceCodePriorTask(CodePriorTask):
    """The code prior of the faces pair: the GPT over vqgan_faces' code grids, conditioned on clip_faces'
    embeddings of training photos (and their mirror images) or of captions composed from their labels
    (a fresh one of data.captions each time). Evaluated on the held-out test people: val_nll given a
    caption naming all of a photo's known labels, and text_fidelity, the share of samples for held-out
    prompts whose every requested attribute the real-face referee reads."""

    def encode_data(self) -> None:
        from .clip import face_photos

        cfg = self.cfg
        keys = ("source", "path", "sources", "procedural_size")
        source = OmegaConf.merge(self.clip.cfg, {"data": {k: cfg.data[k] for k in keys}})
        source.data.pseudo_labels = cfg.data.pseudo_labels
        photos, specs = face_photos(source, "train")
        self.data = encode_photos(self.vqgan, self.clip, photos, specs, int(cfg.data.captions), int(cfg.seed))
        test, test_specs = face_photos(source, "test")
        pick = torch.randperm(len(test), generator=torch.Generator().manual_seed(EVAL_SEED))[
            : int(cfg.data.val_photos)].tolist()
        test, test_specs = test[pick], [test_specs[i] for i in pick]
        self.val = {"codes": self.vqgan.encode(to_model_range(test))[1].flatten(1).cpu().to(torch.int16)}
        self.val_prompts = [face_captions.phrase(s) for s in test_specs]
        self.eval_prompts = face_captions.held_out_prompts(int(cfg.eval.samples), EVAL_SEED)

    def caption_embeddings(self, index: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """One of each photo's composed captions, drawn afresh at every use."""
        pick = torch.randint(self.data["text"].shape[1], (len(index),), generator=generator)
        return self.data["text"][index, pick].float()

    def evaluate(self):
        codes = self.val["codes"].long().to(self.device)
        text = self.clip.embed_texts(self.val_prompts)
        metrics = {"val_nll": float(self.prior.nll(codes, text.to(self.device)).mean()),
                   "unconditional_nll": float(self.prior.nll(codes).mean())}
        referee = self.referee(FaceRefereePipeline)
        if referee is not None:
            prompts = [face_captions.phrase(s) for s in self.eval_prompts]
            drawn = self.samples(len(prompts), self.clip.embed_texts(prompts))
            metrics["text_fidelity"] = float(np.mean(reads_as_asked(referee, drawn, self.eval_prompts)))
        return metrics

    def sample_grid(self):
        """Top row: held-out prompts' samples; bottom row: unconditional samples."""
        prompts = [face_captions.phrase(s) for s in self.eval_prompts[:8]]
        conditioned = self.samples(len(prompts), self.clip.embed_texts(prompts))
        return image_grid(torch.cat([conditioned, self.samples(8)]), nrow=8)
