"""Training tasks on anime faces: DCGAN (book ch. 4) and the autoencoder whose features define
FD-anime, the Frechet distance used to keep the best DCGAN checkpoint and in benchmarks/dcgan.py."""

from pathlib import Path

import torch
import torch.nn.functional as F

from ..config import project_path
from ..data.anime import load_faces, to_model_range
from ..images import image_grid
from ..models.dcgan import build_dcgan
from ..models.face_encoder import build_face_autoencoder
from ..pipelines.dcgan import FaceReferee, fixed_latents
from .gan import GANTask
from .task import EpochSampler, Task

SAMPLE_SEED = 1234  # fixed noise for sample grids and evaluation, independent of the training seed


def faces(cfg, split: str) -> torch.Tensor:
    data = cfg.data
    path = project_path(data.path)
    return load_faces(data.source, path, split, data.holdout, data.synthetic_size, cfg.seed)


class DCGANTask(GANTask):
    """DCGAN on 64x64 faces; keeps the checkpoint with the lowest FD-anime once a referee exists."""

    best_metric = "fd_anime"
    higher_is_better = False

    def __init__(self, cfg, device):
        super().__init__(cfg, device)
        self.images = faces(cfg, "train")  # uint8; converted per batch to keep memory at 1 byte/pixel
        self.eval_images = faces(cfg, "eval")[: cfg.eval.samples]
        self.sampler = EpochSampler(len(self.images), cfg.batch_size, cfg.seed)
        self.set_networks(build_dcgan(cfg.model))
        self.fixed_noise = fixed_latents(64, cfg.model.latent_dim, SAMPLE_SEED)
        self.referee, self.real_features = None, None

    def steps_per_epoch(self):
        return len(self.sampler)

    def real_batch(self, step):
        return to_model_range(self.images[self.sampler.indices(step)])

    def _load_referee(self) -> bool:
        # Looked up at every evaluation, not only at start: the referee may be trained alongside.
        if self.referee is None:
            folder = project_path(self.cfg.eval.referee)
            if folder is None or not Path(folder, "model.safetensors").is_file():
                return False
            self.referee = FaceReferee.from_pretrained(folder)
            self.real_features = self.referee.features(to_model_range(self.eval_images))
        return True

    def evaluate(self):
        if not self._load_referee():
            return {}
        z = fixed_latents(len(self.eval_images), self.cfg.model.latent_dim, SAMPLE_SEED + 1)
        fake = torch.cat([self.generator(c.to(self.device)).cpu() for c in z.split(256)])
        return {"fd_anime": self.referee.frechet(fake, self.real_features)}

    def sample_grid(self):
        return image_grid(self.generator(self.fixed_noise.to(self.device)).cpu(), nrow=8)


class FaceAutoencoderTask(Task):
    """Autoencoder on the training faces (random horizontal flips); ships the encoder only."""

    best_metric = "eval_mse"
    higher_is_better = False

    def __init__(self, cfg, device):
        super().__init__(cfg, device)
        self.images = faces(cfg, "train")
        self.eval_images = to_model_range(faces(cfg, "eval")[: cfg.eval.samples])
        self.sampler = EpochSampler(len(self.images), cfg.batch_size, cfg.seed)
        nets = build_face_autoencoder(cfg.model)
        self.encoder, self.decoder = nets["encoder"].to(device), nets["decoder"].to(device)
        self.modules = {"encoder": self.encoder, "decoder": self.decoder}
        params = [*self.encoder.parameters(), *self.decoder.parameters()]
        self.optimizers = {"autoencoder": torch.optim.Adam(params, lr=cfg.lr)}

    def steps_per_epoch(self):
        return len(self.sampler)

    def export_modules(self):
        return {"encoder": self.encoder}

    def train_step(self, step):
        images = to_model_range(self.images[self.sampler.indices(step)])
        flip = torch.rand(len(images)) < 0.5  # global RNG: saved in the checkpoint, so resumes replay
        images[flip] = images[flip].flip(-1)
        images = images.to(self.device)
        loss = F.mse_loss(self.decoder(self.encoder(images)), images)
        optimizer = self.optimizers["autoencoder"]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return {"mse": loss.item()}

    def evaluate(self):
        errors = [F.mse_loss(self.decoder(self.encoder(c.to(self.device))), c.to(self.device)).item()
                  for c in self.eval_images.split(256)]  # fmt: skip
        return {"eval_mse": sum(errors) / len(errors)}

    def sample_grid(self):
        # top rows: held-out faces; bottom rows: their reconstructions
        real = self.eval_images[:32].to(self.device)
        return image_grid(torch.cat([real, self.decoder(self.encoder(real))]).cpu(), nrow=8)
