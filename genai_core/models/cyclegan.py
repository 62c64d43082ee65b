"""CycleGAN networks (book ch. 6, after Zhu et al. 2017): a ResNet generator and a PatchGAN discriminator.

Both are fully convolutional, so they run at any size that is a multiple of 4. Instance norm and
reflection padding as in the CycleGAN repo; the book's weights_init is applied with `.apply`.
"""

import torch
from torch import nn

from .init import dcgan_init


class ResidualBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3),
            nn.InstanceNorm2d(channels),
            nn.ReLU(True),
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3),
            nn.InstanceNorm2d(channels),
        )

    def forward(self, x):
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    """c7s1-ngf, two stride-2 downsamplings, n_blocks residual blocks, two upsamplings, c7s1-3, tanh.

    residual=True (a departure from the book) predicts a change to the input instead of a new image:
    out = tanh(atanh(x) + net(x)). With the small initial weights the generator starts as the
    identity, so the few thousand steps this CPU affords go into the hair, not into relearning faces.
    """

    def __init__(self, ngf: int = 32, n_blocks: int = 6, residual: bool = False):
        super().__init__()
        self.residual = residual

        def conv(c_in, c_out, **kw):
            return [nn.Conv2d(c_in, c_out, **kw), nn.InstanceNorm2d(c_out), nn.ReLU(True)]

        layers = [nn.ReflectionPad2d(3), *conv(3, ngf, kernel_size=7)]
        layers += conv(ngf, 2 * ngf, kernel_size=3, stride=2, padding=1)
        layers += conv(2 * ngf, 4 * ngf, kernel_size=3, stride=2, padding=1)
        layers += [ResidualBlock(4 * ngf) for _ in range(n_blocks)]
        for c_in, c_out in ((4 * ngf, 2 * ngf), (2 * ngf, ngf)):
            layers += [
                nn.ConvTranspose2d(c_in, c_out, 3, stride=2, padding=1, output_padding=1),
                nn.InstanceNorm2d(c_out),
                nn.ReLU(True),
            ]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, 3, 7)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (N, 3, H, W) in [-1, 1], H and W multiples of 4 -> same shape in [-1, 1]."""
        if self.residual:
            return torch.tanh(torch.atanh(x.clamp(-0.999, 0.999)) + self.net(x))
        return torch.tanh(self.net(x))


class PatchDiscriminator(nn.Module):
    """PatchGAN: one real/fake score per overlapping patch (n_layers=2 sees 34x34 patches)."""

    def __init__(self, ndf: int = 32, n_layers: int = 2):
        super().__init__()
        layers = [nn.Conv2d(3, ndf, 4, stride=2, padding=1), nn.LeakyReLU(0.2, True)]
        c_in = ndf
        for i in range(1, n_layers + 1):
            c_out = ndf * min(2**i, 8)
            stride = 2 if i < n_layers else 1
            layers += [
                nn.Conv2d(c_in, c_out, 4, stride=stride, padding=1),
                nn.InstanceNorm2d(c_out),
                nn.LeakyReLU(0.2, True),
            ]
            c_in = c_out
        layers += [nn.Conv2d(c_in, 1, 4, stride=1, padding=1)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def build_cyclegan(model_cfg) -> dict[str, nn.Module]:
    """g_ab: domain A -> B (e.g. blond -> black hair), g_ba: back; d_a, d_b judge each domain."""
    nets = {
        "g_ab": ResnetGenerator(model_cfg.ngf, model_cfg.n_blocks, model_cfg.residual),
        "g_ba": ResnetGenerator(model_cfg.ngf, model_cfg.n_blocks, model_cfg.residual),
        "d_a": PatchDiscriminator(model_cfg.ndf, model_cfg.d_layers),
        "d_b": PatchDiscriminator(model_cfg.ndf, model_cfg.d_layers),
    }
    for net in nets.values():
        net.apply(dcgan_init)  # the book calls weights_init without .apply, so it never ran
    return nets
