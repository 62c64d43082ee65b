"""A VQGAN (Esser et al. 2021, "Taming Transformers") written for this project, with the module and
parameter names of the taming-transformers code, so its released checkpoints (e.g.
vqgan_imagenet_f16_16384) load with strict key matching.

The shapes-world VQGAN the project ships (arch: conv) keeps the codebook, quant convs and interface but
swaps taming's encoder and decoder for plain ReLU convs: at the sizes one CPU thread can train, the
GroupNorm-swish stack learned the flat colours of the shapes world very slowly (9.4 dB PSNR after 100
steps where the plain convs reach 16 dB; GroupNorm wipes out a flat background's colour).

Encoder: conv_in, then per resolution level `down[i]` (num_res_blocks ResnetBlocks, an AttnBlock after
each block when the level's side is in attn_resolutions, and a stride-2 Downsample except at the last
level), a middle ResnetBlock-Attn-ResnetBlock, GroupNorm, swish, conv_out to z_channels. The decoder
mirrors it with num_res_blocks + 1 blocks per level and nearest-neighbour Upsample. quant_conv /
post_quant_conv are 1x1 convs between z_channels and the codebook's embed_dim.
"""


import torch
import torch.nn.functional as F
from torch import nn


def swish(x: torch.Tensor) -> torch.Tensor:
    return x * torch.sigmoid(x)


def Normalize(channels: int, groups: int = 32) -> nn.GroupNorm:  # noqa: N802 (taming's name)
    # taming always uses 32 groups; small models may use fewer (the parameters are the same)
    return nn.GroupNorm(num_groups=groups, num_channels=channels, eps=1e-6, affine=True)


class ResnetBlock(nn.Module):
    """norm-swish-conv twice plus a skip; a 1x1 nin_shortcut when the channel count changes.
    (taming's temb_proj and conv_shortcut exist only for diffusion models / 3x3 shortcuts: unused by
    the VQGANs, so not built.)"""

    def __init__(self, in_channels: int, out_channels: int, dropout: float = 0.0, groups: int = 32):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.norm1 = Normalize(in_channels, groups)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.norm2 = Normalize(out_channels, groups)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        if in_channels != out_channels:
            self.nin_shortcut = nn.Conv2d(in_channels, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv1(swish(self.norm1(x)))
        h = self.conv2(self.dropout(swish(self.norm2(h))))
        if self.in_channels != self.out_channels:
            x = self.nin_shortcut(x)
        return x + h


class AttnBlock(nn.Module):
    """Single-head self-attention over all positions, 1x1 convs for q, k, v and the output."""

    def __init__(self, channels: int, groups: int = 32):
        super().__init__()
        self.norm = Normalize(channels, groups)
        self.q = nn.Conv2d(channels, channels, 1)
        self.k = nn.Conv2d(channels, channels, 1)
        self.v = nn.Conv2d(channels, channels, 1)
        self.proj_out = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        y = self.norm(x)
        # (N, C, H, W) -> (N, 1 head, HW, C); scale 1/sqrt(C) as in the paper's code
        q, k, v = (f(y).flatten(2).transpose(1, 2)[:, None] for f in (self.q, self.k, self.v))
        out = F.scaled_dot_product_attention(q, k, v)
        out = out[:, 0].transpose(1, 2).reshape(n, c, h, w)
        return x + self.proj_out(out)


class Downsample(nn.Module):
    """Stride-2 3x3 conv after padding one pixel on the right and bottom only (torch convs cannot
    pad asymmetrically), which halves even sides exactly."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, stride=2, padding=0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.pad(x, (0, 1, 0, 1)))


class Upsample(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


def _level(blocks: list[nn.Module], attns: list[nn.Module]) -> nn.Module:
    """A plain container named like taming's (down[i].block[j], down[i].attn[j], ...)."""
    level = nn.Module()
    level.block = nn.ModuleList(blocks)
    level.attn = nn.ModuleList(attns)
    return level


def _middle(channels: int, dropout: float, groups: int) -> nn.Module:
    mid = nn.Module()
    mid.block_1 = ResnetBlock(channels, channels, dropout, groups)
    mid.attn_1 = AttnBlock(channels, groups)
    mid.block_2 = ResnetBlock(channels, channels, dropout, groups)
    return mid


def _run_middle(mid: nn.Module, h: torch.Tensor) -> torch.Tensor:
    return mid.block_2(mid.attn_1(mid.block_1(h)))


class Encoder(nn.Module):
    def __init__(self, *, ch, ch_mult, num_res_blocks, attn_resolutions, in_channels, resolution,
                 z_channels, dropout=0.0, double_z=False, norm_groups=32, **ignored):
        super().__init__()
        self.num_resolutions = len(ch_mult)
        in_mult = (1, *ch_mult)
        self.conv_in = nn.Conv2d(in_channels, ch, 3, padding=1)
        self.down = nn.ModuleList()
        side = resolution
        for i, mult in enumerate(ch_mult):
            c_in, c_out = ch * in_mult[i], ch * mult
            blocks, attns = [], []
            for _ in range(num_res_blocks):
                blocks.append(ResnetBlock(c_in, c_out, dropout, norm_groups))
                c_in = c_out
                if side in attn_resolutions:
                    attns.append(AttnBlock(c_out, norm_groups))
            level = _level(blocks, attns)
            if i != self.num_resolutions - 1:
                level.downsample = Downsample(c_out)
                side //= 2
            self.down.append(level)
        self.mid = _middle(c_out, dropout, norm_groups)
        self.norm_out = Normalize(c_out, norm_groups)
        self.conv_out = nn.Conv2d(c_out, 2 * z_channels if double_z else z_channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv_in(x)
        for i, level in enumerate(self.down):
            for j, block in enumerate(level.block):
                h = block(h)
                if len(level.attn) > 0:
                    h = level.attn[j](h)
            if i != self.num_resolutions - 1:
                h = level.downsample(h)
        h = _run_middle(self.mid, h)
        return self.conv_out(swish(self.norm_out(h)))


class Decoder(nn.Module):
    def __init__(self, *, ch, out_ch, ch_mult, num_res_blocks, attn_resolutions, resolution, z_channels,
                 dropout=0.0, norm_groups=32, **ignored):
        super().__init__()
        self.num_resolutions = len(ch_mult)
        c_in = ch * ch_mult[-1]
        side = resolution // 2 ** (self.num_resolutions - 1)
        self.conv_in = nn.Conv2d(z_channels, c_in, 3, padding=1)
        self.mid = _middle(c_in, dropout, norm_groups)
        levels = []
        for i in reversed(range(self.num_resolutions)):  # built lowest resolution first
            c_out = ch * ch_mult[i]
            blocks, attns = [], []
            for _ in range(num_res_blocks + 1):
                blocks.append(ResnetBlock(c_in, c_out, dropout, norm_groups))
                c_in = c_out
                if side in attn_resolutions:
                    attns.append(AttnBlock(c_out, norm_groups))
            level = _level(blocks, attns)
            if i != 0:
                level.upsample = Upsample(c_out)
                side *= 2
            levels.insert(0, level)  # up[i] is level i, as in taming
        self.up = nn.ModuleList(levels)
        self.norm_out = Normalize(c_in, norm_groups)
        self.conv_out = nn.Conv2d(c_in, out_ch, 3, padding=1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = _run_middle(self.mid, self.conv_in(z))
        for i in reversed(range(self.num_resolutions)):
            level = self.up[i]
            for j, block in enumerate(level.block):
                h = block(h)
                if len(level.attn) > 0:
                    h = level.attn[j](h)
            if i != 0:
                h = level.upsample(h)
        return self.conv_out(swish(self.norm_out(h)))


class VectorQuantizer(nn.Module):
    """Nearest-neighbour codebook lookup with the straight-through gradient.

    Loss = ||sg[z] - e||^2 (moves the codes) + beta ||z - sg[e]||^2 (commits the encoder), the
    VQ-VAE paper's weighting. (taming's VectorQuantizer applies beta to the codebook term instead, a
    bug it keeps for backwards compatibility; it does not change the parameters.)"""

    def __init__(self, n_embed: int, embed_dim: int, beta: float = 0.25):
        super().__init__()
        self.n_embed, self.embed_dim, self.beta = n_embed, embed_dim, beta
        self.embedding = nn.Embedding(n_embed, embed_dim)
        self.embedding.weight.data.uniform_(-1.0 / n_embed, 1.0 / n_embed)

    def nearest(self, z: torch.Tensor) -> torch.Tensor:
        """z (N, D, H, W) -> indices (N, H, W) of the closest codebook entries (squared L2)."""
        flat = z.permute(0, 2, 3, 1).reshape(-1, self.embed_dim)
        weight = self.embedding.weight
        distance = (flat.pow(2).sum(1, keepdim=True) + weight.pow(2).sum(1)[None]
                    - 2 * flat @ weight.t())
        n, _, h, w = z.shape
        return distance.argmin(1).view(n, h, w)

    def embed_code(self, indices: torch.Tensor) -> torch.Tensor:
        """indices (N, H, W) -> codebook vectors (N, D, H, W)."""
        return self.embedding(indices).permute(0, 3, 1, 2).contiguous()

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """z (N, D, H, W) -> (straight-through quantised z, codebook + commitment loss, indices)."""
        indices = self.nearest(z.detach())
        z_q = self.embed_code(indices)
        loss = F.mse_loss(z_q, z.detach()) + self.beta * F.mse_loss(z, z_q.detach())
        # forward value z_q, gradient of the identity: the decoder's gradient reaches the encoder
        return z + (z_q - z).detach(), loss, indices


class VQModel(nn.Module):
    def __init__(self, ddconfig: dict, n_embed: int, embed_dim: int, beta: float = 0.25):
        super().__init__()
        ddconfig = dict(ddconfig)
        if ddconfig.get("double_z", False):
            raise ValueError("a VQGAN's ddconfig needs double_z: false (double_z is for KL autoencoders)")
        self.ddconfig, self.n_embed, self.embed_dim = ddconfig, int(n_embed), int(embed_dim)
        self.encoder = Encoder(**ddconfig)
        self.decoder = Decoder(**ddconfig)
        self.quantize = VectorQuantizer(self.n_embed, self.embed_dim, beta)
        self.quant_conv = nn.Conv2d(ddconfig["z_channels"], self.embed_dim, 1)
        self.post_quant_conv = nn.Conv2d(self.embed_dim, ddconfig["z_channels"], 1)

    @property
    def downsample_factor(self) -> int:
        return 2 ** (len(self.ddconfig["ch_mult"]) - 1)

    def encode_latent(self, x: torch.Tensor) -> torch.Tensor:
        """x (N, 3, H, W) in [-1, 1] -> the continuous latent before quantisation (N, embed_dim, h, w)."""
        return self.quant_conv(self.encoder(x))

    def quantize_latent(self, z: torch.Tensor) -> torch.Tensor:
        """Nearest codebook entries of z, with the straight-through gradient (for latent optimisers)."""
        return self.quantize(z)[0]

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (N, 3, H, W) in [-1, 1] -> (quant (N, embed_dim, h, w), indices (N, h, w))."""
        quant, _, indices = self.quantize(self.encode_latent(x))
        return quant, indices

    def decode(self, quant: torch.Tensor) -> torch.Tensor:
        """quant (N, embed_dim, h, w) -> images (N, 3, H, W), clamped to [-1, 1]."""
        return self.decode_raw(quant).clamp(-1, 1)

    def decode_raw(self, quant: torch.Tensor) -> torch.Tensor:
        """The decoder's unclamped output (training losses use it, so clipped pixels keep a gradient)."""
        return self.decoder(self.post_quant_conv(quant))

    def decode_code(self, indices: torch.Tensor) -> torch.Tensor:
        """indices (N, h, w) -> images."""
        return self.decode(self.quantize.embed_code(indices))

    def random_latent(self, n: int, side: int, generator: torch.Generator) -> torch.Tensor:
        """The codebook vectors of uniformly random codes (N, embed_dim, side, side): a start for a
        latent optimiser (the thesis' random init), a detached copy the caller may optimise."""
        indices = torch.randint(self.n_embed, (n, side, side), generator=generator)
        return self.quantize.embed_code(indices).detach().clone()

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """-> (unclamped reconstruction, codebook + commitment loss, indices)."""
        quant, loss, indices = self.quantize(self.encode_latent(x))
        return self.decode_raw(quant), loss, indices


class PlainResBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.relu(self.conv1(F.relu(x))))


class ConvVQModel(VQModel):
    """A VQModel whose encoder and decoder are plain ReLU convs (no norm): per entry of `channels` a
    stride-2 4x4 conv down (and a nearest upsample + 3x3 conv back up), res_blocks residual blocks at
    the lowest resolution. Same codebook, quant convs and methods as VQModel.

    decoder_channels (one entry per resolution, lowest first: len(channels) + 1 entries) builds a
    wider decoder instead of the mirror image, with decoder_res_blocks blocks at the lowest resolution
    and one after each upsampling: the shipped one was retrained on the frozen codes of the mirrored
    one (train/vqgan.py, `freeze_codes`)."""

    def __init__(self, channels, z_channels: int, n_embed: int, embed_dim: int, beta: float = 0.25,
                 res_blocks: int = 2, decoder_channels=None,
                 decoder_res_blocks: int | None = None):
        nn.Module.__init__(self)
        channels = [int(c) for c in channels]
        self.levels = len(channels)
        self.n_embed, self.embed_dim = int(n_embed), int(embed_dim)
        down, c_in = [], 3
        for c_out in channels:
            down += [nn.Conv2d(c_in, c_out, 4, stride=2, padding=1), nn.ReLU()]
            c_in = c_out
        down += [PlainResBlock(c_in) for _ in range(res_blocks)] + [nn.ReLU(), nn.Conv2d(c_in, z_channels, 1)]
        self.encoder = nn.Sequential(*down)
        if decoder_channels is None:
            self.decoder = self._mirrored_decoder(channels, z_channels, res_blocks)
        else:
            blocks = res_blocks if decoder_res_blocks is None else int(decoder_res_blocks)
            self.decoder = self._wide_decoder([int(c) for c in decoder_channels], z_channels, blocks)
        self.quantize = VectorQuantizer(self.n_embed, self.embed_dim, beta)
        self.quant_conv = nn.Conv2d(z_channels, self.embed_dim, 1)
        self.post_quant_conv = nn.Conv2d(self.embed_dim, z_channels, 1)

    @staticmethod
    def _mirrored_decoder(channels: list[int], z_channels: int, res_blocks: int) -> nn.Sequential:
        c_in = channels[-1]
        up = [nn.Conv2d(z_channels, c_in, 3, padding=1)] + [PlainResBlock(c_in) for _ in range(res_blocks)]
        for c_out in [*channels[-2::-1], channels[0]]:
            up += [nn.ReLU(), nn.Upsample(scale_factor=2), nn.Conv2d(c_in, c_out, 3, padding=1)]
            c_in = c_out
        return nn.Sequential(*up, nn.ReLU(), nn.Conv2d(c_in, 3, 3, padding=1))

    def _wide_decoder(self, channels: list[int], z_channels: int, res_blocks: int) -> nn.Sequential:
        if len(channels) != self.levels + 1:
            raise ValueError(f"decoder_channels needs {self.levels + 1} entries (one per resolution), "
                             f"got {len(channels)}")
        c_in = channels[0]
        up = [nn.Conv2d(z_channels, c_in, 3, padding=1)] + [PlainResBlock(c_in) for _ in range(res_blocks)]
        for c_out in channels[1:]:
            up += [nn.ReLU(), nn.Upsample(scale_factor=2), nn.Conv2d(c_in, c_out, 3, padding=1),
                   PlainResBlock(c_out)]
            c_in = c_out
        return nn.Sequential(*up, nn.ReLU(), nn.Conv2d(c_in, 3, 3, padding=1))

    @property
    def downsample_factor(self) -> int:
        return 2**self.levels


def build_vqgan(model_cfg) -> dict[str, nn.Module]:
    """model_cfg: {arch: taming, ddconfig: {...}, n_embed, embed_dim, beta} -> {"vqgan": VQModel}, or
    {arch: conv, channels, z_channels, res_blocks, n_embed, embed_dim, beta, decoder_channels,
    decoder_res_blocks} -> {"vqgan": ConvVQModel}."""
    beta = float(model_cfg["beta"])
    n_embed, embed_dim = int(model_cfg["n_embed"]), int(model_cfg["embed_dim"])
    arch = model_cfg["arch"]
    if arch == "conv":
        wide = model_cfg["decoder_channels"]
        vqgan = ConvVQModel(list(model_cfg["channels"]), int(model_cfg["z_channels"]), n_embed, embed_dim,
                            beta, int(model_cfg["res_blocks"]), None if wide is None else list(wide),
                            model_cfg["decoder_res_blocks"])
        return {"vqgan": vqgan}
    if arch != "taming":
        raise ValueError(f"model.arch must be taming or conv, got {arch!r}")
    ddconfig = {k: (list(v) if not isinstance(v, (int, float, bool, str)) else v)
                for k, v in dict(model_cfg["ddconfig"]).items()}
    return {"vqgan": VQModel(ddconfig, n_embed, embed_dim, beta)}


# ---------------------------------------------------------------- taming-transformers checkpoints


