"""Training the digit autoencoder (book ch. 7): mean squared reconstruction error, keeping the lowest
test MSE; the MNIST referee reads the reconstructions."""

import torch
import torch.nn.functional as F

from ..data.mnist import training_digits
from ..images import image_grid
from ..metrics.mnist_autoencoder import reconstruction_metrics
from ..models.mnist_autoencoder import build_mnist_autoencoder
from ..pipelines.mnist_autoencoder import MnistAutoencoderPipeline
from ..pipelines.mnist_classifier import MnistClassifierPipeline
from .task import EpochSampler, Task

SAMPLE_SEED = 1234


class MnistAutoencoderTask(Task):
    """MLP autoencoder on digits, mean squared reconstruction error; keeps the lowest test MSE."""

    best_metric = "mse"
    higher_is_better = False

    def __init__(self, cfg, device):
        super().__init__(cfg, device)
        self.images = training_digits(cfg, "train")[0]
        self.test_images, self.test_labels = training_digits(cfg, "test")
        self.sampler = EpochSampler(len(self.images), cfg.batch_size, cfg.seed)
        networks = build_mnist_autoencoder(cfg.model)
        self.modules = {name: net.to(device) for name, net in networks.items()}
        params = [p for net in self.modules.values() for p in net.parameters()]
        self.optimizers = {"autoencoder": torch.optim.Adam(params, lr=cfg.lr)}
        self.pipeline = MnistAutoencoderPipeline.wrapping(cfg, self.modules)
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
        referee = self.referee(MnistClassifierPipeline)
        return reconstruction_metrics(self.test_images, reconstructions, self.test_labels, referee)

    def sample_grid(self):
        """Row 1: fixed test digits; row 2: their reconstructions."""
        return image_grid(torch.cat([self.grid_digits, self.pipeline.reconstruct(self.grid_digits)]), nrow=16)
