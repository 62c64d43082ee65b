"""Training the DCGAN on anime faces (book ch. 4); keeps the checkpoint with the lowest FD-anime once
the anime-face encoder (its referee) exists. The standard FID, which chose the shipped snapshot, costs
minutes of Inception passes and is taken outside the run: `python -m benchmarks.dcgan --curve`."""

import torch

from ..data.anime_faces import training_faces
from ..images import image_grid, to_model_range
from ..latents import fixed_latents
from ..models.dcgan import build_dcgan
from ..pipelines.anime_encoder import AnimeEncoderPipeline
from .gan import GANTask
from .task import EpochSampler

SAMPLE_SEED = 1234  # fixed noise for sample grids and evaluation, independent of the training seed


class DCGANTask(GANTask):
    """DCGAN on 64x64 faces; keeps the checkpoint with the lowest FD-anime once a referee exists."""

    best_metric = "fd_anime"
    higher_is_better = False

    def __init__(self, cfg, device):
        super().__init__(cfg, device)
        self.images = training_faces(cfg, "train")  # uint8, converted per batch: 1 byte a pixel
        self.eval_images = training_faces(cfg, "eval")[: cfg.eval.samples]
        self.sampler = EpochSampler(len(self.images), cfg.batch_size, cfg.seed)
        self.set_networks(build_dcgan(cfg.model))
        self.fixed_noise = fixed_latents(64, cfg.model.latent_dim, SAMPLE_SEED)
        self.real_features = None

    def steps_per_epoch(self):
        return len(self.sampler)

    def real_batch(self, step):
        return to_model_range(self.images[self.sampler.indices(step)])

    def evaluate(self):
        referee = self.referee(AnimeEncoderPipeline)
        if referee is None:
            return {}
        if self.real_features is None:
            self.real_features = referee.features(to_model_range(self.eval_images))
        z = fixed_latents(len(self.eval_images), self.cfg.model.latent_dim, SAMPLE_SEED + 1)
        fake = torch.cat([self.shipped_generator(c.to(self.device)).cpu() for c in z.split(256)])
        return {"fd_anime": referee.frechet(fake, self.real_features)}

    def sample_grid(self):
        return image_grid(self.shipped_generator(self.fixed_noise.to(self.device)).cpu(), nrow=8)


