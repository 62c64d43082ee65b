"""Training tasks on digits: the MLP GAN (thesis ch. 2) and the referee classifier."""

from pathlib import Path

import torch
import torch.nn.functional as F

from ..config import project_path
from ..data.mnist import load_digits, to_model_range
from ..images import image_grid
from ..models.classifier import build_classifier
from ..models.gan_mlp import build_gan
from ..pipelines.digits import DigitReferee, digit_gan_metrics
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
