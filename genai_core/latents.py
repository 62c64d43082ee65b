"""Latent vectors named by seeds, and spherical interpolation between them (every generator's tab)."""

import torch


def latent(seed: int, dim: int) -> torch.Tensor:
    """The latent vector a seed names: one seed, one image, in every tab and the CLI."""
    return torch.randn(dim, generator=torch.Generator().manual_seed(seed))


def fixed_latents(n: int, dim: int, seed: int) -> torch.Tensor:
    """n latents from one generator seeded with seed (fixed noise for sample grids and evaluation)."""
    return torch.randn(n, dim, generator=torch.Generator().manual_seed(seed))


def slerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    """Spherical interpolation: Gaussian latents live near a sphere, straight lines cut inside it."""
    cos = torch.clamp((a * b).sum() / (a.norm() * b.norm()), -1.0, 1.0)
    omega = torch.arccos(cos)
    if omega.abs() < 1e-6:
        return (1 - t) * a + t * b
    return (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)
