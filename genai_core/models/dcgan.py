"""DCGAN networks for 64x64 RGB images (book ch. 4, after Radford et al. 2016).

Generator: a latent vector seen as a 1x1 image, grown by stride-2 transposed convolutions
4 -> 8 -> 16 -> 32 -> 64, BatchNorm + ReLU between them and Tanh at the end. Discriminator: the
mirror image with stride-2 convolutions, LeakyReLU(0.2), BatchNorm except on the first layer, and
one logit. Width is a config value: the shipped weights use ngf = ndf = 48, about half the compute
of the book's 64, so that a 2-core CPU trains them in a background run of a few hours.
"""

import torch
from torch import nn

from .init import dcgan_init


class DCGANGenerator(nn.Module):
    def __init__(self, latent_dim: int = 100, ngf: int = 32, channels: int = 3):
        super().__init__()
        self.latent_dim = latent_dim

        def up(cin, cout):  # doubles height and width
            return [nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(True)]

        self.net = nn.Sequential(
            nn.ConvTranspose2d(latent_dim, ngf * 8, 4, 1, 0, bias=False),  # 1x1 -> 4x4
            nn.BatchNorm2d(ngf * 8),
            nn.ReLU(True),
            *up(ngf * 8, ngf * 4),  # 8x8
            *up(ngf * 4, ngf * 2),  # 16x16
            *up(ngf * 2, ngf),  # 32x32
            nn.ConvTranspose2d(ngf, channels, 4, 2, 1, bias=False),  # 64x64
            nn.Tanh(),
        )
        self.apply(dcgan_init)  # .apply reaches every layer; the book's weights_init(model) reached none

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """z: (N, latent_dim) -> images (N, 3, 64, 64) in [-1, 1]."""
        return self.net(z.view(z.shape[0], -1, 1, 1))


class DCGANDiscriminator(nn.Module):
    """norm "batch" is the book's; "spectral" (Miyato et al. 2018) divides every weight by its largest
    singular value instead, which bounds how fast D can change: the usual remedy for a GAN that
    oscillates or collapses on a small dataset."""

    def __init__(self, ndf: int = 32, channels: int = 3, norm: str = "batch"):
        super().__init__()
        if norm not in ("batch", "spectral"):
            raise ValueError(f"model.d_norm must be batch or spectral, got {norm!r}")
        sn = nn.utils.parametrizations.spectral_norm if norm == "spectral" else (lambda layer: layer)

        def down(cin, cout):  # halves height and width
            if norm == "spectral":
                return [sn(nn.Conv2d(cin, cout, 4, 2, 1)), nn.LeakyReLU(0.2, True)]
            return [nn.Conv2d(cin, cout, 4, 2, 1, bias=False), nn.BatchNorm2d(cout), nn.LeakyReLU(0.2, True)]

        self.net = nn.Sequential(
            sn(nn.Conv2d(channels, ndf, 4, 2, 1, bias=False)),  # 32x32; no BatchNorm on the input layer
            nn.LeakyReLU(0.2, True),
            *down(ndf, ndf * 2),  # 16x16
            *down(ndf * 2, ndf * 4),  # 8x8
            *down(ndf * 4, ndf * 8),  # 4x4
            sn(nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False)),  # one logit; BCE-with-logits replaces Sigmoid
        )
        if norm == "batch":
            self.apply(dcgan_init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).view(-1)


def build_dcgan(model_cfg) -> dict[str, nn.Module]:
    return {
        "generator": DCGANGenerator(model_cfg.latent_dim, model_cfg.ngf),
        "discriminator": DCGANDiscriminator(model_cfg.ndf, norm=model_cfg.d_norm),
    }
