"""Training the anime-face autoencoder whose encoder features define FD-anime (the DCGAN's referee):
random horizontal flips, mean squared error; ships the encoder only."""

import torch
import torch.nn.functional as F

from ..data.anime_faces import training_faces
from ..images import image_grid, to_model_range
from ..models.anime_encoder import build_anime_encoder
from .task import EpochSampler, Task


class AnimeEncoderTask(Task):
    best_metric = "eval_mse"
    higher_is_better = False

    def __init__(self, cfg, device):
        super().__init__(cfg, device)
        self.images = training_faces(cfg, "train")
        self.eval_images = to_model_range(training_faces(cfg, "eval")[: cfg.eval.samples])
        self.sampler = EpochSampler(len(self.images), cfg.batch_size, cfg.seed)
        nets = build_anime_encoder(cfg.model)
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
                  for c in self.eval_images.split(256)]
        return {"eval_mse": sum(errors) / len(errors)}

    def sample_grid(self):
        # top rows: held-out faces; bottom rows: their reconstructions
        real = self.eval_images[:32].to(self.device)
        return image_grid(torch.cat([real, self.decoder(self.encoder(real))]).cpu(), nrow=8)
