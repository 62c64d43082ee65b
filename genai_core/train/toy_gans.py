"""Training tasks for the two toy GANs of book ch. 3."""

import torch
import torch.nn.functional as F

from ..data.toy import curve_points, denormalise_points, multiples_onehot, normalise_points
from ..metrics.toy_gans import curve_metrics, curve_score, multiples_metrics
from ..models.mlp_gan import build_mlp_gan
from ..pipelines.toy_gans import sample_multiples
from ..plots import curve_figure, figure_to_array, multiples_figure
from . import distributed
from .gan import GANTask

EVAL_SEED = 1234  # fixed evaluation noise, independent of the training seed


class CurveTask(GANTask):
    """Points on y = 1.08^x. Keeps the checkpoint with the best fit among well-spread ones."""

    best_metric = "score"

    def __init__(self, cfg, device):
        super().__init__(cfg, device)
        self.set_networks(build_mlp_gan(cfg.model))
        self.eval_noise = torch.randn(cfg.eval_samples, 2, generator=torch.Generator().manual_seed(EVAL_SEED))

    def real_batch(self, step):
        return distributed.share(normalise_points(curve_points(self.cfg.batch_size)))

    def generated_points(self, z):
        return denormalise_points(self.generator(z.to(self.device)).cpu())

    def evaluate(self):
        metrics = curve_metrics(self.generated_points(self.eval_noise))
        return {**metrics, "score": curve_score(metrics, self.cfg.min_coverage)}

    def sample_grid(self):
        return figure_to_array(curve_figure(self.generated_points(self.eval_noise[:1000]).numpy()))


class MultiplesTask(GANTask):
    """Integers 0..99 as one-hot rows, all multiples of 5.

    The generator outputs logits and samples with straight-through Gumbel-softmax, so what the
    discriminator sees is a real one-hot row; the discriminator judges packs of samples
    (PacGAN), so a generator stuck on a few values is easy to spot. model.variant=book rebuilds the
    book's version (one-hot noise, Linear+ReLU generator, single-sample discriminator).
    """

    best_metric = "score"

    def __init__(self, cfg, device):
        super().__init__(cfg, device)
        self.book = cfg.model.variant == "book"
        if distributed.local_batch_size(cfg.batch_size) % cfg.model.pack:
            raise ValueError(f"batch_size per process must be a multiple of model.pack={cfg.model.pack}")
        self.set_networks(build_mlp_gan(cfg.model))

    def noise(self, n, generator=None):
        if self.book:  # the book feeds a random one-hot integer as the "noise"
            picks = torch.randint(100, (n,), generator=generator)
            return F.one_hot(picks, 100).float().to(self.device)
        return super().noise(n, generator)

    def generate(self, z):
        logits = self.generator(z)
        if self.book:
            return F.relu(logits)
        return F.gumbel_softmax(logits, tau=self.cfg.model.tau, hard=True)

    def real_batch(self, step):
        return distributed.share(multiples_onehot(self.cfg.batch_size))

    def evaluate(self):
        values = self.sample_values(self.cfg.eval_samples)
        metrics = multiples_metrics(values)
        return {**metrics, "score": metrics["share_valid"] * metrics["evenness"]}

    def sample_values(self, n):
        # Evaluation draws from its own generator so it never shifts the training noise.
        generator = torch.Generator().manual_seed(EVAL_SEED)
        return sample_multiples(self.generator, n, self.book, self.cfg.model.tau, generator)

    def sample_grid(self):
        return figure_to_array(multiples_figure(self.sample_values(2000)))
