"""Training the MNIST referee: a small CNN whose classes give coverage and whose features give FD-MNIST."""

import torch
import torch.nn.functional as F

from ..data.mnist import training_digits
from ..models.mnist_classifier import build_mnist_classifier
from .task import EpochSampler, Task


class MnistClassifierTask(Task):
    best_metric = "accuracy"

    def __init__(self, cfg, device):
        super().__init__(cfg, device)
        self.images, self.labels = training_digits(cfg, "train")
        self.test_images, self.test_labels = training_digits(cfg, "test")
        self.sampler = EpochSampler(len(self.images), cfg.batch_size, cfg.seed)
        self.classifier = build_mnist_classifier(cfg.model)["classifier"].to(device)
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


