"""Fully connected GAN networks, shared by the toy GANs of book ch. 3 and the MNIST GAN of thesis ch. 2."""

import torch
from torch import nn

from .init import dcgan_init

ACTIVATIONS = {"relu": nn.ReLU, "leaky_relu": lambda: nn.LeakyReLU(0.2)}


def mlp(sizes: list[int], activation: str, dropout: float = 0.0) -> nn.Sequential:
    """Linear layers with an activation (and dropout) between them, none after the last."""
    layers = []
    for index, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(fan_in, fan_out))
        if index < len(sizes) - 2:
            layers.append(ACTIVATIONS[activation]())
            if dropout:
                layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


class MLPGenerator(nn.Module):
    def __init__(self, latent_dim, hidden, out_dim, activation="relu", tanh=False, init="default"):
        super().__init__()
        self.latent_dim = latent_dim
        self.net = mlp([latent_dim, *hidden, out_dim], activation)
        self.tanh = tanh
        if init == "dcgan":
            self.apply(dcgan_init)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        out = self.net(z)
        return torch.tanh(out) if self.tanh else out


class MLPDiscriminator(nn.Module):
    """Returns logits. With pack > 1 it judges `pack` samples at once (PacGAN), which lets it
    see a batch that repeats itself and so punishes mode collapse."""

    def __init__(self, in_dim, hidden, activation="relu", dropout=0.0, pack=1, init="default"):
        super().__init__()
        self.pack = pack
        self.net = mlp([in_dim * pack, *hidden, 1], activation, dropout)
        if init == "dcgan":
            self.apply(dcgan_init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.flatten(1)
        return self.net(x.reshape(x.shape[0] // self.pack, -1)).squeeze(1)


def build_mlp_gan(model_cfg) -> dict[str, nn.Module]:
    generator = MLPGenerator(
        model_cfg.latent_dim,
        list(model_cfg.g_hidden),
        model_cfg.data_dim,
        model_cfg.activation,
        model_cfg.tanh,
        model_cfg.init,
    )
    discriminator = MLPDiscriminator(
        model_cfg.data_dim,
        list(model_cfg.d_hidden),
        model_cfg.activation,
        model_cfg.dropout,
        model_cfg.pack,
        model_cfg.init,
    )
    return {"generator": generator, "discriminator": discriminator}
