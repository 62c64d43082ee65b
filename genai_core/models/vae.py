"""A convolutional variational autoencoder for faces (book ch. 7).

The encoder halves the resolution len(channels) times, then two linear heads give the mean and the
log-variance of q(z | x); the decoder mirrors it. The KL term is the closed form for a diagonal
Gaussian against N(0, I) written with the log-variance (`kl_divergence`, checked against
torch.distributions in the tests).
"""

import torch
from torch import nn


def _down(c_in, c_out):
    return [nn.Conv2d(c_in, c_out, 4, stride=2, padding=1), nn.BatchNorm2d(c_out), nn.LeakyReLU(0.2, True)]


def _up(c_in, c_out):
    return [nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(True)]


class FaceVAE(nn.Module):
    def __init__(self, size: int = 64, channels=(32, 64, 128, 256), latent_dim: int = 128):
        super().__init__()
        self.size, self.latent_dim = size, latent_dim
        self.side = size // 2 ** len(channels)
        if self.side < 1 or self.side * 2 ** len(channels) != size:
            raise ValueError(f"model.size={size} must be a multiple of 2^{len(channels)}")
        channels = list(channels)
        flat = channels[-1] * self.side**2
        layers, c_in = [], 3
        for c_out in channels:
            layers += _down(c_in, c_out)
            c_in = c_out
        self.encoder = nn.Sequential(*layers, nn.Flatten())
        self.to_mu = nn.Linear(flat, latent_dim)
        self.to_logvar = nn.Linear(flat, latent_dim)
        self.from_z = nn.Sequential(nn.Linear(latent_dim, flat), nn.ReLU(True))
        layers = []
        for c_in, c_out in zip(channels[::-1], channels[-2::-1], strict=False):
            layers += _up(c_in, c_out)
        layers += [nn.ConvTranspose2d(channels[0], 3, 4, stride=2, padding=1), nn.Tanh()]
        self.decoder = nn.Sequential(*layers)
        self.top_channels = channels[-1]

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (N, 3, size, size) in [-1, 1] -> mu, logvar, each (N, latent_dim)."""
        h = self.encoder(x)
        return self.to_mu(h), self.to_logvar(h).clamp(-20, 10)  # clamp: exp() must not overflow

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        h = self.from_z(z).view(-1, self.top_channels, self.side, self.side)
        return self.decoder(h)

    def forward(self, x: torch.Tensor):
        mu, logvar = self.encode(x)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)  # reparameterisation trick
        return self.decode(z), mu, logvar


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) per sample: -1/2 sum(1 + logvar - mu^2 - exp(logvar))."""
    return -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(1)


class GroupMeans(nn.Module):
    """The mean code (mu) of each labelled group of training photos, shipped with a VAE of real faces:
    latent arithmetic needs them and the app has no labelled photos. Row i belongs to groups[i]."""

    def __init__(self, groups: int, latent_dim: int):
        super().__init__()
        self.register_buffer("means", torch.zeros(groups, latent_dim))


def build_vae(model_cfg) -> dict[str, nn.Module]:
    nets = {"vae": FaceVAE(model_cfg.size, tuple(model_cfg.channels), model_cfg.latent_dim)}
    if model_cfg.groups:
        nets["group_means"] = GroupMeans(len(model_cfg.groups), model_cfg.latent_dim)
    return nets
