"""Conditional WGAN-GP (book ch. 5): the label is concatenated to z for the generator and given to the
critic as constant image planes (one channel per label) next to the RGB channels.

Two departures make the label count on a short CPU run (the book's version ignored the label for the
first 600 of our generator steps): labels enter as -1/+1 instead of 0/1 (a 0 plane is no signal at
all, only a bias can tell "no glasses" from "absent"), and the label planes are also concatenated to
the feature maps in front of every (transposed) convolution, not only at the input."""

import math

import torch
import torch.nn.functional as F
from torch import nn

from .init import dcgan_init


def signed(labels: torch.Tensor) -> torch.Tensor:
    """Labels in [0, 1] -> [-1, 1]: both "no" and "yes" are then a signal, not just the absence of one."""
    return labels * 2 - 1


def with_planes(x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
    """Concatenate one constant plane per label to the feature maps x (N, C, H, W); None adds none."""
    if labels is None:
        return x
    planes = labels[:, :, None, None].expand(-1, -1, x.shape[2], x.shape[3])
    return torch.cat([x, planes], dim=1)


class ConditionalGenerator(nn.Module):
    """[z, labels] -> image (3, size, size) in [-1, 1]: a linear map to 4x4, then doubling blocks,
    each seeing the label planes next to its input features."""

    def __init__(self, latent_dim=64, num_labels=2, channels=(128, 64, 32), size=32, every_layer=True,
                 signed_labels=True):
        super().__init__()
        if 4 * 2 ** len(channels) != size:
            raise ValueError(
                f"{len(channels)} up-sampling blocks make {4 * 2 ** len(channels)} px, not {size}"
            )
        self.latent_dim, self.num_labels, self.size = latent_dim, num_labels, size
        self.every_layer, self.signed_labels = every_layer, signed_labels
        extra = num_labels if every_layer else 0  # label planes in front of each block
        self.project = nn.Sequential(
            nn.Linear(latent_dim + num_labels, channels[0] * 16, bias=False),
            nn.Unflatten(1, (channels[0], 4, 4)),
            nn.BatchNorm2d(channels[0]),
            nn.ReLU(True),
        )
        self.blocks = nn.ModuleList()
        for c_in, c_out in zip(channels[:-1], channels[1:], strict=False):
            self.blocks.append(nn.Sequential(
                nn.ConvTranspose2d(c_in + extra, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out),
                nn.ReLU(True)))
        self.out = nn.Sequential(nn.ConvTranspose2d(channels[-1] + extra, 3, 4, 2, 1), nn.Tanh())

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        labels = signed(labels) if self.signed_labels else labels
        x = self.project(torch.cat([z, labels], dim=1))
        planes = labels if self.every_layer else None
        for block in self.blocks:
            x = block(with_planes(x, planes))
        return self.out(with_planes(x, planes))


class ConditionalCritic(nn.Module):
    """[image, label planes] -> one unbounded score; every conv also sees the label planes.
    InstanceNorm, not BatchNorm: the gradient penalty is per sample, and batch statistics would couple
    the samples (WGAN-GP paper, book ch. 5)."""

    def __init__(self, num_labels=2, channels=(32, 64, 128), size=32, every_layer=True, signed_labels=True):
        super().__init__()
        if size // 2 ** len(channels) != 4:
            raise ValueError(f"{len(channels)} down-sampling blocks do not take {size} px to 4x4")
        self.every_layer, self.signed_labels = every_layer, signed_labels
        self.blocks, c_in = nn.ModuleList(), 3
        for i, c_out in enumerate(channels):
            extra = num_labels if every_layer or i == 0 else 0  # the book: label planes at the input only
            layers = [nn.Conv2d(c_in + extra, c_out, 4, 2, 1, bias=i == 0)]
            if i > 0:
                layers.append(nn.InstanceNorm2d(c_out, affine=True))
            layers.append(nn.LeakyReLU(0.2, True))
            self.blocks.append(nn.Sequential(*layers))
            c_in = c_out
        self.out = nn.Conv2d(c_in + (num_labels if every_layer else 0), 1, 4, 1, 0)

    def forward(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        labels = signed(labels) if self.signed_labels else labels
        x = images
        for i, block in enumerate(self.blocks):
            x = block(with_planes(x, labels if self.every_layer or i == 0 else None))
        return self.out(with_planes(x, labels if self.every_layer else None)).view(-1)


class LabelClassifier(nn.Module):
    """The auxiliary classifier of AC-WGAN-GP: image -> one logit per label, trained on real faces only.

    Its own small conv trunk, not a head on the critic's: every critic layer sees the label planes, so
    a head there could read the answer off the planes instead of the image. InstanceNorm (no batch
    statistics) so that real and generated batches are judged the same way in train mode."""

    def __init__(self, num_labels=2, channels=(32, 64, 128), size=32):
        super().__init__()
        if size // 2 ** len(channels) != 4:
            raise ValueError(f"{len(channels)} down-sampling blocks do not take {size} px to 4x4")
        layers, c_in = [], 3
        for i, c_out in enumerate(channels):
            layers.append(nn.Conv2d(c_in, c_out, 4, 2, 1, bias=i == 0))
            if i > 0:
                layers.append(nn.InstanceNorm2d(c_out, affine=True))
            layers.append(nn.LeakyReLU(0.2, True))
            c_in = c_out
        self.trunk = nn.Sequential(*layers)
        self.out = nn.Conv2d(c_in, num_labels, 4, 1, 0)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.out(self.trunk(images)).flatten(1)


def build_label_classifier(model_cfg) -> LabelClassifier:
    """The AC-WGAN-GP auxiliary classifier (built by the task only when ac_weight > 0; never shipped)."""
    size = int(model_cfg.size)
    blocks = int(math.log2(size // 4))
    classifier = LabelClassifier(len(model_cfg.labels), tuple(model_cfg.ac_channels)[:blocks], size)
    classifier.apply(dcgan_init)
    return classifier


def label_loss(classifier, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of the classifier's logits against labels in [0, 1], summed over labels
    (each label is its own yes/no question), averaged over the batch."""
    logits = classifier(images)
    return F.binary_cross_entropy_with_logits(logits, labels, reduction="none").sum(1).mean()


def build_cwgan(model_cfg) -> dict[str, nn.Module]:
    size = int(model_cfg.size)
    blocks = int(math.log2(size // 4))
    g_channels = tuple(model_cfg.g_channels)[:blocks]
    d_channels = tuple(model_cfg.d_channels)[:blocks]
    num_labels = len(model_cfg.labels)
    every_layer, signed_labels = model_cfg.label_planes == "every_layer", bool(model_cfg.signed_labels)
    generator = ConditionalGenerator(model_cfg.latent_dim, num_labels, g_channels, size, every_layer,
                                     signed_labels)
    critic = ConditionalCritic(num_labels, d_channels, size, every_layer, signed_labels)
    generator.apply(dcgan_init)  # .apply visits every layer (the book's weights_init(model) does not)
    critic.apply(dcgan_init)
    return {"generator": generator, "critic": critic}


def gradient_penalty(critic, real, fake, labels, generator=None) -> torch.Tensor:
    """E[(||grad_x critic(x_hat)||_2 - 1)^2] at random points x_hat between real and fake samples."""
    alpha = torch.rand(real.shape[0], 1, 1, 1, generator=generator).to(real.device)
    mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    scores = critic(mixed, labels)
    (grad,) = torch.autograd.grad(scores.sum(), mixed, create_graph=True)
    return ((grad.flatten(1).norm(2, dim=1) - 1) ** 2).mean()
