"""The MLP autoencoder of book ch. 7: 784 -> hidden -> latent -> hidden -> 784, on 28x28 digits.

Two networks, so the pipeline can encode and decode separately (the latent map needs codes alone).
"""

import torch
from torch import nn


class MnistEncoder(nn.Module):
    def __init__(self, hidden: int, latent_dim: int, in_dim: int = 784):
        super().__init__()
        self.latent_dim = latent_dim
        self.net = nn.Sequential(
            nn.Flatten(), nn.Linear(in_dim, hidden), nn.ReLU(), nn.Linear(hidden, latent_dim)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (N, 1, 28, 28) in [-1, 1] -> codes (N, latent_dim)."""
        return self.net(x)


class MnistDecoder(nn.Module):
    def __init__(self, hidden: int, latent_dim: int, out_dim: int = 784):
        super().__init__()
        # Tanh, not the book's Sigmoid: the project keeps digits in [-1, 1]
        self.net = nn.Sequential(
            nn.Linear(latent_dim, hidden), nn.ReLU(), nn.Linear(hidden, out_dim), nn.Tanh()
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """codes (N, latent_dim) -> (N, 1, 28, 28) in [-1, 1]."""
        return self.net(z).view(-1, 1, 28, 28)


def build_mnist_autoencoder(model_cfg) -> dict[str, nn.Module]:
    hidden, latent_dim = int(model_cfg.hidden), int(model_cfg.latent_dim)
    return {"encoder": MnistEncoder(hidden, latent_dim), "decoder": MnistDecoder(hidden, latent_dim)}
