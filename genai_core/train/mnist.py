"""Training tasks on digits: the MLP GAN (thesis ch. 2), the autoencoder (book ch. 7) and the referee
classifier."""

from pathlib import Path

import torch
import torch.nn.functional as F
from omegaconf import OmegaConf

from ..config import project_path
from ..data.mnist import load_digits, to_model_range
from ..images import image_grid
from ..models.autoencoder import build_autoencoder
from ..models.classifier import build_classifier
from ..models.gan_mlp import build_gan
from ..pipelines.digits import (
    DigitAutoencoderPipeline,
    DigitReferee,
    digit_gan_metrics,
    reconstruction_metrics,
)
from .gan import GANTask
from .task import EpochSampler, Task

SAMPLE_SEED = 1234


def _digits(cfg, split):
    images, labels = load_digits(
        cfg.data.source, project_path(cfg.data.path), split, cfg.data.synthetic_size, cfg.seed
    )
    return to_model_range(images), labels


class DigitGANTask(GANTask):
    """MLP GAN on 28x28 digits. With a referee it keeps the checkpoint with the lowest FD-MNIST."""

    best_metric = "fd_mnist"
    higher_is_better = False

    def __init__(self, cfg, device):
        super().__init__(cfg, device)
        self.images = _digits(cfg, "train")[0].flatten(1)
        self.sampler = EpochSampler(len(self.images), cfg.batch_size, cfg.seed)
        self.set_networks(build_gan(cfg.model))
        self.fixed_noise = torch.randn(
            64, cfg.model.latent_dim, generator=torch.Generator().manual_seed(SAMPLE_SEED)
        )
        self.referee = None
        referee_dir = project_path(cfg.eval.referee)
        if referee_dir and Path(referee_dir, "model.safetensors").is_file():
            self.referee = DigitReferee.from_pretrained(referee_dir)
            test_images = _digits(cfg, "test")[0]
            # a random subset: some MNIST files are sorted by label, so the first N are not typical
            subset = torch.randperm(len(test_images), generator=torch.Generator().manual_seed(0))
            test_images = test_images[subset[: cfg.eval.samples]]
            self.real_features = self.referee.features(test_images)

    def steps_per_epoch(self):
        return len(self.sampler)

    def real_batch(self, step):
        return self.images[self.sampler.indices(step)]

    def evaluate(self):
        if self.referee is None:
            return {}
        z = torch.randn(
            self.cfg.eval.samples,
            self.cfg.model.latent_dim,
            generator=torch.Generator().manual_seed(SAMPLE_SEED),
        )
        fake = self.generator(z.to(self.device)).cpu().view(-1, 1, 28, 28)
        return digit_gan_metrics(self.referee, fake, self.real_features)

    def sample_grid(self):
        return image_grid(self.generator(self.fixed_noise.to(self.device)).cpu().view(-1, 1, 28, 28), nrow=8)


class DigitClassifierTask(Task):
    best_metric = "accuracy"

    def __init__(self, cfg, device):
        super().__init__(cfg, device)
        self.images, self.labels = _digits(cfg, "train")
        self.test_images, self.test_labels = _digits(cfg, "test")
        self.sampler = EpochSampler(len(self.images), cfg.batch_size, cfg.seed)
        self.classifier = build_classifier(cfg.model)["classifier"].to(device)
        self.modules = {"classifier": self.classifier}
        self.optimizers = {"classifier": torch.optim.Adam(self.classifier.parameters(), lr=cfg.lr)}

    def steps_per_epoch(self):
        return len(self.sampler)

    def train_step(self, step):
        index = self.sampler.indices(step)
        images = self.images[index]
        # small random shifts: the referee must also read generated digits that sit off-centre
        shift = torch.randint(-2, 3, (2,)).tolist()
        images = torch.roll(images, shifts=shift, dims=(2, 3)).to(self.device)
        logits = self.classifier(images)
        loss = F.cross_entropy(logits, self.labels[index].to(self.device))
        optimizer = self.optimizers["classifier"]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        accuracy = (logits.argmax(1).cpu() == self.labels[index]).float().mean()
        return {"loss": loss.item(), "train_accuracy": accuracy.item()}

    def evaluate(self):
        predictions = torch.cat(
            [self.classifier(chunk.to(self.device)).argmax(1).cpu() for chunk in self.test_images.split(1000)]
        )
        return {"accuracy": (predictions == self.test_labels).float().mean().item()}


class DigitAutoencoderTask(Task):
    """MLP autoencoder on digits, mean squared reconstruction error; keeps the lowest test MSE."""

    best_metric = "mse"
    higher_is_better = False

    def __init__(self, cfg, device):
        super().__init__(cfg, device)
        self.images = _digits(cfg, "train")[0]
        self.test_images, self.test_labels = _digits(cfg, "test")
        self.sampler = EpochSampler(len(self.images), cfg.batch_size, cfg.seed)
        networks = build_autoencoder(cfg.model)
        self.modules = {name: net.to(device) for name, net in networks.items()}
        params = [p for net in self.modules.values() for p in net.parameters()]
        self.optimizers = {"autoencoder": torch.optim.Adam(params, lr=cfg.lr)}
        self.pipeline = DigitAutoencoderPipeline.wrapping(cfg, self.modules)
        referee_dir = project_path(OmegaConf.select(cfg, "eval.referee"))
        self.referee = None
        if referee_dir and Path(referee_dir, "model.safetensors").is_file():
            self.referee = DigitReferee.from_pretrained(referee_dir)
        # fixed random test digits for the grid: the shared file is sorted by label
        order = torch.randperm(len(self.test_images), generator=torch.Generator().manual_seed(SAMPLE_SEED))
        self.grid_digits = self.test_images[order[:16]]

    def steps_per_epoch(self):
        return len(self.sampler)

    def train_step(self, step):
        images = self.images[self.sampler.indices(step)].to(self.device)
        # mean, not the book's sum, of squared errors: Adam is indifferent to the scale and the
        # logged number reads as a per-pixel error
        loss = F.mse_loss(self.pipeline.decoder(self.pipeline.encoder(images)), images)
        optimizer = self.optimizers["autoencoder"]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return {"loss": loss.item()}

    def evaluate(self):
        reconstructions = self.pipeline.reconstruct(self.test_images)
        return reconstruction_metrics(self.test_images, reconstructions, self.test_labels, self.referee)

    def sample_grid(self):
        """Row 1: fixed test digits; row 2: their reconstructions."""
        return image_grid(torch.cat([self.grid_digits, self.pipeline.reconstruct(self.grid_digits)]), nrow=16)
