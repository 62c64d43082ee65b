"""Training the MLP GAN on digits (thesis ch. 2). With the MNIST referee it keeps the checkpoint with
the lowest FD-MNIST."""

import torch

from ..data.mnist import training_digits
from ..images import image_grid
from ..latents import fixed_latents
from ..metrics.mnist_gan import mnist_gan_metrics
from ..models.mlp_gan import build_mlp_gan
from ..pipelines.mnist_classifier import MnistClassifierPipeline
from .gan import GANTask
from .task import EpochSampler

SAMPLE_SEED = 1234


class MnistGANTask(GANTask):
    best_metric = "fd_mnist"
    higher_is_better = False

    def __init__(self, cfg, device):
        super().__init__(cfg, device)
        self.images = training_digits(cfg, "train")[0].flatten(1)
        self.sampler = EpochSampler(len(self.images), cfg.batch_size, cfg.seed)
        self.set_networks(build_mlp_gan(cfg.model))
        self.fixed_noise = fixed_latents(64, cfg.model.latent_dim, SAMPLE_SEED)
        self.real_features = None

    def steps_per_epoch(self):
        return len(self.sampler)

    def real_batch(self, step):
        return self.images[self.sampler.indices(step)]

    def evaluate(self):
        referee = self.referee(MnistClassifierPipeline)
        if referee is None:
            return {}
        if self.real_features is None:
            test_images = training_digits(self.cfg, "test")[0]
            # a random subset: some MNIST files are sorted by label, so the first N are not typical
            subset = torch.randperm(len(test_images), generator=torch.Generator().manual_seed(0))
            self.real_features = referee.features(test_images[subset[: self.cfg.eval.samples]])
        z = fixed_latents(self.cfg.eval.samples, self.cfg.model.latent_dim, SAMPLE_SEED)
        fake = self.shipped_generator(z.to(self.device)).cpu().view(-1, 1, 28, 28)
        return mnist_gan_metrics(referee, fake, self.real_features)

    def sample_grid(self):
        digits = self.shipped_generator(self.fixed_noise.to(self.device)).cpu()
        return image_grid(digits.view(-1, 1, 28, 28), nrow=8)
