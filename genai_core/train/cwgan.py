"""Training the conditional WGAN-GP on labelled faces (book ch. 5), with an auxiliary label classifier."""

from pathlib import Path

import torch
import torch.nn.functional as F

from ..config import ConfigError, project_path
from ..data.faces import eye_band, load_labelled_faces
from ..data.real_faces import load_labelled_photos
from ..images import image_grid, to_model_range
from ..metrics.cwgan import cwgan_metrics
from ..models.cwgan import build_cwgan, build_label_classifier, gradient_penalty, label_loss
from ..pipelines.cwgan import label_tensor
from ..pipelines.face_referee import FaceRefereePipeline
from . import distributed
from .pseudo_labels import fill_unknown
from .task import EpochSampler, Task

SAMPLE_SEED = 1234
KEEP_GRID = 8  # cells a side of the colour averages keep_weight compares


def outside_the_eyes() -> torch.Tensor:
    """(KEEP_GRID, KEEP_GRID) ones, zero over the band where the training framing puts the eyes."""
    return 1 - eye_band(KEEP_GRID)


def conditioning_faces(cfg, names: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """(uint8 images, labels (N, len(names)) in {0, 1}) to condition on. Procedural renders have exact
    labels. Real photos keep those whose every conditioning label is known, after an optional referee
    (data.pseudo_labels) fills the unknown ones where it is confident (data.pseudo_confidence)."""
    size = int(cfg.model.size)
    if cfg.data.source != "real":
        images, labels = load_labelled_faces(cfg.data, size, "train", cfg.seed)
        return images, label_tensor(labels, names)
    photos = load_labelled_photos(project_path(cfg.data.path), list(cfg.data.sources), size, "train")
    labels = photos.labels
    if cfg.data.pseudo_labels:
        confidence = float(cfg.data.pseudo_confidence)
        labels = fill_unknown(labels, photos.images, cfg.data.pseudo_labels, confidence, names)
    labels = {n: labels[n] for n in names}
    table = label_tensor(labels, names)
    known = (table >= 0).all(1)
    return photos.images[known], table[known]


def balanced_pool(labels: torch.Tensor, power: float) -> torch.Tensor:
    """Row indices in which each label combination appears about count ** power times (0: as often as
    the others, 1: as in the data): rare combinations (women with glasses) are repeated."""
    keys = (labels * 2 ** torch.arange(labels.shape[1])).sum(1).long()
    counts = torch.bincount(keys)
    largest = counts.max().float()
    pool = []
    for key in keys.unique():
        rows = (keys == key).nonzero().flatten()
        repeat = max(1, round(float((largest / counts[key]) ** (1 - power))))
        pool.append(rows.repeat(repeat))
    return torch.cat(pool)


class CWGANTask(Task):
    """WGAN-GP with labels: n_critic critic steps (each on a fresh real batch), then one generator step.

    One trainer step = one generator step, so `steps` counts generator updates as the book does.
    """

    def __init__(self, cfg, device):
        super().__init__(cfg, device)
        self.label_names = list(cfg.model.labels)
        self.images, self.labels = conditioning_faces(cfg, self.label_names)
        self.n_critic = int(cfg.n_critic)
        power = cfg.data.balance
        self.pool = torch.arange(len(self.images)) if power is None else balanced_pool(self.labels, power)
        self.sampler = EpochSampler(len(self.pool), cfg.batch_size, cfg.seed)
        nets = build_cwgan(cfg.model)
        self.generator = nets["generator"].to(device)
        self.critic = nets["critic"].to(device)
        if cfg.init_from:
            self._warm_start(project_path(cfg.init_from))
        betas = tuple(cfg.betas)
        self.modules = {"generator": self.generator, "critic": self.critic}
        self.optimizers = {
            "generator": torch.optim.Adam(self.generator.parameters(), lr=cfg.lr, betas=betas),
            "critic": torch.optim.Adam(self.critic.parameters(), lr=cfg.lr, betas=betas),
        }
        # AC-WGAN-GP (departure from the book): an auxiliary label classifier, trained on real faces
        # only; the generator is also trained to make it read the requested labels. ac_weight=0 is
        # the book's plain conditional WGAN-GP (no classifier is built).
        self.ac_weight = float(cfg.ac_weight)
        self.classifier = None
        if self.ac_weight > 0:
            self.classifier = build_label_classifier(cfg.model).to(device)
            self.modules["classifier"] = self.classifier
            self.optimizers["classifier"] = torch.optim.Adam(
                self.classifier.parameters(), lr=cfg.lr, betas=betas
            )
        fixed = torch.Generator().manual_seed(SAMPLE_SEED)
        self.fixed_noise = torch.randn(8, cfg.model.latent_dim, generator=fixed)
        # what the glasses label may change is the glasses (departure from the book): keep_weight prices
        # any other change the same noise shows when the label flips (0: off)
        self.keep_weight = float(cfg.get("keep_weight") or 0.0)
        self.glasses = self.label_names.index("eyeglasses") if "eyeglasses" in self.label_names else None
        if self.keep_weight and self.glasses is None:
            raise ConfigError("keep_weight prices what the eyeglasses label changes: add it to model.labels")
        self.keep_mask = outside_the_eyes().to(device)
        self.critic_warmup = int(cfg.get("critic_warmup") or 0)

    def steps_per_epoch(self):
        return max(1, len(self.sampler) // self.n_critic)

    def _warm_start(self, run_dir: Path) -> None:
        """Start generator and critic from another run's checkpoint (weights only: fresh optimizers,
        step 0), e.g. the book-style run, so a new loss term does not have to relearn faces. A shipped
        weights folder holds the generator only: the critic starts afresh and learns it during
        `critic_warmup` steps before the generator moves again."""
        from ..checkpoint import CHECKPOINT_NAME, WEIGHTS_NAME, load_training_state, load_weights

        run_dir = Path(run_dir)
        if not (run_dir / CHECKPOINT_NAME).is_file() and (run_dir / WEIGHTS_NAME).is_file():
            load_weights(run_dir, {"generator": self.generator})
            return
        state = load_training_state(run_dir / CHECKPOINT_NAME)
        self.generator.load_state_dict(state["modules"]["generator"])
        self.critic.load_state_dict(state["modules"]["critic"])

    def export_modules(self):
        return {"generator": self.generator}

    def batch(self, index: int):
        rows = self.pool[self.sampler.indices(index)]
        images = to_model_range(self.images[rows])
        if self.cfg.augment_flip:  # mirrored faces keep their labels; global RNG: checkpointed
            flip = torch.rand(len(images)) < 0.5
            images = torch.where(flip[:, None, None, None], images.flip(3), images)
        return images.to(self.device), self.labels[rows].to(self.device)

    def noise(self, n: int) -> torch.Tensor:
        """This process's share of the global batch's noise (all of it without torchrun)."""
        latent = self.generator.latent_dim
        return distributed.draw_share(lambda m: torch.randn(m, latent, device=self.device), n)

    def train_step(self, step):
        c_opt, g_opt = self.optimizers["critic"], self.optimizers["generator"]
        logs = {"loss_critic": 0.0, "gp": 0.0, "wasserstein": 0.0}
        for k in range(self.n_critic):
            real, labels = self.batch(step * self.n_critic + k)
            with torch.no_grad():
                fake = self.generator(self.noise(len(real)), labels)
            score_real = self.critic(real, labels).mean()
            score_fake = self.critic(fake, labels).mean()
            gp = gradient_penalty(self.critic, real, fake, labels)
            loss_c = score_fake - score_real + self.cfg.gp_weight * gp
            c_opt.zero_grad(set_to_none=True)
            loss_c.backward()
            c_opt.step()
            # python floats, averaged over the critic steps: no graph is kept alive by the logs
            logs["loss_critic"] += loss_c.item() / self.n_critic
            logs["gp"] += gp.item() / self.n_critic
            logs["wasserstein"] += (score_real - score_fake).item() / self.n_critic
            if self.classifier is not None:
                loss_ac_real = self._classifier_step(real, labels) / self.n_critic
                logs["loss_ac_real"] = logs.get("loss_ac_real", 0.0) + loss_ac_real
        if step < self.critic_warmup:  # a fresh critic's first verdicts would only unteach the generator
            return logs
        # the generator step uses the labels of the last real batch (the book's conditioning)
        z = self.noise(len(labels))
        fake = self.generator(z, labels)
        loss_g = -self.critic(fake, labels).mean()
        out = {}
        if self.keep_weight:
            loss_keep = self._keep_loss(z, labels, fake)
            loss_g = loss_g + self.keep_weight * loss_keep
            out["loss_keep"] = loss_keep.item()
        if self.classifier is not None:
            loss_ac = label_loss(self.classifier, fake, labels)
            loss_g = loss_g + self.ac_weight * loss_ac
            out |= {"loss_ac_real": logs.pop("loss_ac_real"), "loss_ac_fake": loss_ac.item()}
        g_opt.zero_grad(set_to_none=True)
        loss_g.backward()  # also fills the classifier's grads: they are cleared before its next step
        g_opt.step()
        return {**logs, **out, "loss_g": loss_g.item()}

    def _keep_loss(self, z: torch.Tensor, labels: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """Mean absolute difference of 8x8 colour averages, outside the band of the eyes, between each
        face and the same noise with its glasses label flipped: hair, skin and background colours are
        what the referee reads as the same person; the glasses' own pixels are inside the band."""
        flipped = labels.clone()
        flipped[:, self.glasses] = 1 - flipped[:, self.glasses]
        other = self.generator(z, flipped)
        pooled = F.avg_pool2d(fake - other, fake.shape[-1] // KEEP_GRID).abs()
        return (pooled * self.keep_mask).sum() / (self.keep_mask.sum() * pooled.shape[0] * pooled.shape[1])

    def _classifier_step(self, real: torch.Tensor, labels: torch.Tensor) -> float:
        """One cross-entropy step of the auxiliary classifier on real faces and their true labels
        (never on generated ones: the generator could otherwise teach it its own mistakes)."""
        loss = label_loss(self.classifier, real, labels)
        opt = self.optimizers["classifier"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.item()

    def evaluate(self):
        referee = self.referee(FaceRefereePipeline)
        if referee is None:
            return {}
        return cwgan_metrics(
            self.generator, referee, self.label_names, int(self.cfg.eval.samples), SAMPLE_SEED
        )

    def sample_grid(self):
        """8 fixed latents (rows) x every label combination (columns)."""
        combos = torch.cartesian_prod(*[torch.tensor([0.0, 1.0])] * len(self.label_names)).view(
            -1, len(self.label_names)
        )
        z = self.fixed_noise.repeat_interleave(len(combos), 0)
        labels = combos.repeat(len(self.fixed_noise), 1)
        return image_grid(self.generator(z.to(self.device), labels.to(self.device)).cpu(), nrow=len(combos))


