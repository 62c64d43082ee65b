"""VQGAN: the first stage of CLIP + VQGAN, on the procedural shapes world or on real face photos.

data.source=procedural: every batch is freshly rendered from seeds that depend only on (seed, step),
so there is no dataset to overfit and a resumed run replays the same images. data.source=real: the
labelled face photos (genai_core.data.real_faces) of the person-disjoint train split, mirrored at
random; the held-out test people are the evaluation set. Loss: L1 reconstruction + the codebook and
commitment terms (beta 0.25). No perceptual or adversarial term: on flat-coloured shapes L1 alone gives
sharp edges, and one busy CPU thread cannot afford a discriminator in the time budget.

Codebooks trained from scratch tend to leave most codes dead; every `restart_every` steps (until
`restart_until` of the run) each code no input chose during the window is moved onto a random encoder
output of the current batch, so it starts where data lives.

`freeze_codes: FOLDER` is a second stage: the encoder, quant conv and codebook are copied from the
VQGAN shipped in FOLDER and kept fixed, and only the decoder (which may be a new, wider one) learns.
Every picture keeps the codes it had, so a code prior trained on that VQGAN stays valid (as Stable
Diffusion's fine-tuned VAE decoders keep its latents).
"""


from pathlib import Path

import torch
from safetensors.torch import load_file

from ..checkpoint import WEIGHTS_NAME, WeightsError
from ..config import project_path
from ..data.real_faces import load_labelled_photos
from ..data.shapes import render_scenes, sample_scenes
from ..images import image_grid, to_model_range
from ..metrics.vqgan import vqgan_metrics
from ..models.vqgan import build_vqgan
from ..pipelines.vqgan import VQGANPipeline
from . import distributed
from .task import EpochSampler, Task, cosine_after

EVAL_SEED = 2_000_000_011  # held-out scenes: far from every training seed


CODE_PARTS = ("encoder.", "quant_conv.", "quantize.")  # what decides the code of a picture


def batch_seed(seed: int, step: int) -> int:
    return (seed * 1_000_003 + step) % 2**31


def load_code_parts(vqgan, folder) -> None:
    """Copy the encoder, quant conv and codebook of the VQGAN shipped in folder into vqgan."""
    path = Path(folder) / WEIGHTS_NAME
    if not path.is_file():
        raise WeightsError(f"freeze_codes: no {WEIGHTS_NAME} in {folder}")
    tensors = {k.removeprefix("vqgan."): v for k, v in load_file(path).items()}
    state = {k: v.float() for k, v in tensors.items() if k.startswith(CODE_PARTS)}
    wanted = [k for k in vqgan.state_dict() if k.startswith(CODE_PARTS)]
    try:
        vqgan.load_state_dict(state, strict=False)
    except RuntimeError as err:  # the first line only names the class; the next names the tensor
        detail = next((line.strip() for line in str(err).splitlines()[1:] if line.strip()), str(err))
        raise WeightsError(f"{path} does not fit this VQGAN: {detail[:200]}") from None
    if missing := [k for k in wanted if k not in state]:
        raise WeightsError(f"{path} lacks {missing[0]} (and {len(missing) - 1} more)")


class VQGANTask(Task):
    def __init__(self, cfg, device):
        super().__init__(cfg, device)
        self.size = int(cfg.data.size)
        # shapes: PSNR barely sees rounded corners, and the optimiser needs the shapes; photos: PSNR
        self.best_metric = "psnr" if cfg.data.source == "real" else "checker_ok"
        self.vqgan = build_vqgan(cfg.model)["vqgan"].to(device)
        self.modules = {"vqgan": self.vqgan}
        self.frozen_codes = bool(cfg.freeze_codes)
        if self.frozen_codes:
            load_code_parts(self.vqgan, cfg.freeze_codes)
            for name, param in self.vqgan.named_parameters():
                param.requires_grad_(not name.startswith(CODE_PARTS))
        trained = [p for p in self.vqgan.parameters() if p.requires_grad]
        self.optimizers = {"vqgan": torch.optim.Adam(trained, lr=cfg.lr, betas=(0.5, 0.9))}
        if cfg.data.source == "real":
            folder, sources = project_path(cfg.data.path), list(cfg.data.sources)
            self.photos = load_labelled_photos(folder, sources, self.size, "train").images
            self.sampler = EpochSampler(len(self.photos), int(cfg.batch_size), int(cfg.seed))
            held_out = load_labelled_photos(folder, sources, self.size, "test").images
            pick = torch.randperm(len(held_out), generator=torch.Generator().manual_seed(EVAL_SEED))
            self.eval_scenes, self.eval_images = None, to_model_range(held_out[pick[: int(cfg.eval.samples)]])
        else:
            self.eval_scenes = sample_scenes(int(cfg.eval.samples), EVAL_SEED)
            self.eval_images = render_scenes(self.eval_scenes, self.size)
        self.usage = torch.zeros(self.vqgan.n_embed)
        self.window_start = 0  # first step counted in self.usage (a resumed run starts a new window)

    def steps_per_epoch(self):
        return len(self.sampler) if self.cfg.data.source == "real" else super().steps_per_epoch()

    def batch(self, step: int) -> torch.Tensor:
        if self.cfg.data.source == "real":  # a mirrored face is a face; global RNG: checkpointed
            x = to_model_range(self.photos[self.sampler.indices(step)])
            flip = (torch.rand(len(x)) < 0.5)[:, None, None, None]
            return torch.where(flip, x.flip(3), x).to(self.device)
        scenes = sample_scenes(int(self.cfg.batch_size), batch_seed(int(self.cfg.seed), step))
        return render_scenes(distributed.share(scenes), self.size).to(self.device)

    def lr_at(self, step: int) -> float:
        """Constant until decay_start, then cosine down to a tenth at the last step: a long constant
        phase learns the codebook, the decay sharpens corners that PSNR hardly sees."""
        return cosine_after(step, self.cfg.lr, int(self.cfg.decay_start), self.total_steps(), 0.1)

    def train_step(self, step):
        x = self.batch(step)
        if self.frozen_codes:
            return self.decoder_step(x, step)
        if step < self.window_start or self.usage.sum() == 0:
            self.window_start = step
        recon, vq_loss, indices = self.vqgan(x)
        loss_rec = (recon - x).abs().mean()
        loss = loss_rec + vq_loss
        self._update(loss, step)
        self.usage += torch.bincount(indices.flatten().cpu(), minlength=self.vqgan.n_embed)
        logs = {"loss": loss.item(), "l1": loss_rec.item(), "vq": vq_loss.item()}
        if self._restart_due(step):
            logs["restarted"] = float(self.restart_dead_codes(x, step))
        return logs

    def decoder_step(self, x: torch.Tensor, step: int) -> dict[str, float]:
        """The second stage: L1 of the decoder's picture from the frozen codes of x (the codebook
        never moves, so there are no usage counts and no restarts)."""
        with torch.no_grad():
            quant, _ = self.vqgan.encode(x)
        loss = (self.vqgan.decode_raw(quant) - x).abs().mean()
        self._update(loss, step)
        return {"loss": loss.item(), "l1": loss.item()}

    def _update(self, loss: torch.Tensor, step: int) -> None:
        optimizer = self.optimizers["vqgan"]
        for group in optimizer.param_groups:
            group["lr"] = self.lr_at(step)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    def _restart_due(self, step: int) -> bool:
        every = int(self.cfg.restart_every)
        if every <= 0 or (step + 1) % every != 0:
            return False
        if step + 1 > float(self.cfg.restart_until) * self.total_steps():
            return False
        return step + 1 - self.window_start >= every  # a full window of counts

    @torch.no_grad()
    def restart_dead_codes(self, x: torch.Tensor, step: int) -> int:
        """Move every code unused in the window onto a random latent of batch x; reset the counts."""
        dead = (self.usage == 0).nonzero().flatten()
        self.usage.zero_()
        self.window_start = step + 1
        if len(dead) == 0:
            return 0
        z = self.vqgan.encode_latent(x).permute(0, 2, 3, 1).reshape(-1, self.vqgan.embed_dim)
        gen = torch.Generator().manual_seed(batch_seed(int(self.cfg.seed), step) + 1)
        pick = torch.randint(len(z), (len(dead),), generator=gen)
        noise = torch.randn(len(dead), z.shape[1], generator=gen) * 0.01 * z.std().cpu()
        self.vqgan.quantize.embedding.weight[dead.to(self.device)] = z[pick.to(self.device)] + noise.to(z)
        return len(dead)

    def evaluate(self):
        pipeline = VQGANPipeline.wrapping(self.cfg, {"vqgan": self.vqgan})
        return vqgan_metrics(pipeline, self.eval_images.to(self.device), self.eval_scenes)

    def sample_grid(self):
        """Held-out scenes and their reconstructions, one row each."""
        x = self.eval_images[:8].to(self.device)
        quant, _ = self.vqgan.encode(x)
        return image_grid(torch.cat([x, self.vqgan.decode(quant)]).cpu(), nrow=8)
