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
    """c7s1-ngf, two stride-2 downsamplings, n_blocks residual blocks, two 2x upsamplings, c7s1-3, tanh.

    output says how the network's last layer becomes the image:
    - "plain" (the book): tanh(net(x)), a new image drawn from scratch.
    - "residual": tanh(atanh(x) + net(x)), a change to the input; starts as the identity.
    - "mask" (attention-guided CycleGAN, Mejjati et al. 2018; the shipped choice): the net also draws a
      mask m in [0, 1] and out = m * residual + (1 - m) * x, with the residual image as above. Pixels
      the mask leaves alone are the input's exactly, so the face outside the hair survives. The mask
      starts at 0.5 and the residual at the identity: a mask that started near 0 starved the drawn
      image of gradient and closed for good within 200 steps.
    """

    OUTPUTS = ("plain", "residual", "mask")

    def __init__(self, ngf: int = 32, n_blocks: int = 6, output: str = "plain"):
        super().__init__()
        if output not in self.OUTPUTS:
            raise ValueError(f"generator output must be one of {self.OUTPUTS}, got {output!r}")
        self.output = output

        def conv(c_in, c_out, **kw):
            return [nn.Conv2d(c_in, c_out, **kw), nn.InstanceNorm2d(c_out), nn.ReLU(True)]

        layers = [nn.ReflectionPad2d(3), *conv(3, ngf, kernel_size=7)]
        layers += conv(ngf, 2 * ngf, kernel_size=3, stride=2, padding=1)
        layers += conv(2 * ngf, 4 * ngf, kernel_size=3, stride=2, padding=1)
        layers += [ResidualBlock(4 * ngf) for _ in range(n_blocks)]
        for c_in, c_out in ((4 * ngf, 2 * ngf), (2 * ngf, ngf)):
            # resize-convolution instead of the book's ConvTranspose2d, whose uneven overlap painted a
            # checkerboard into the hair within 1,000 steps here (Odena et al., 2016)
            layers += [
                nn.Upsample(scale_factor=2, mode="nearest"),
                nn.ReflectionPad2d(1),
                nn.Conv2d(c_in, c_out, 3),
                nn.InstanceNorm2d(c_out),
                nn.ReLU(True),
            ]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, 4 if output == "mask" else 3, 7)]
        self.net = nn.Sequential(*layers)

    def forward_with_mask(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """x: (N, 3, H, W) in [-1, 1], H and W multiples of 4 -> (image of the same shape in [-1, 1],
        the mask (N, 1, H, W) for output="mask", else None)."""
        out = self.net(x)
        if self.output == "plain":
            return torch.tanh(out), None
        changed = torch.tanh(torch.atanh(x.clamp(-0.999, 0.999)) + out[:, :3])
        if self.output == "residual":
            return changed, None
        mask = torch.sigmoid(out[:, 3:])
        return gate(x, changed, mask), mask

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_with_mask(x)[0]


def gate(before: torch.Tensor, after: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """after where mask is 1, before where it is 0, blended between (None: after everywhere)."""
    return after if mask is None else before + mask * (after - before)


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
        "g_ab": ResnetGenerator(model_cfg.ngf, model_cfg.n_blocks, model_cfg.output),
        "g_ba": ResnetGenerator(model_cfg.ngf, model_cfg.n_blocks, model_cfg.output),
        "d_a": PatchDiscriminator(model_cfg.ndf, model_cfg.d_layers),
        "d_b": PatchDiscriminator(model_cfg.ndf, model_cfg.d_layers),
    }
    for net in nets.values():
        net.apply(dcgan_init)  # the book calls weights_init without .apply, so it never ran
    return nets
