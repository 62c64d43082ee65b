"""Ready-made callbacks: a tqdm bar for the CLI, and a recorder for tests and the Train tab."""

from tqdm.auto import tqdm

from .trainer import Callback


class TqdmProgress(Callback):
    def on_start(self, trainer):
        self.bar = tqdm(total=trainer.total_steps, initial=trainer.step, desc=trainer.cfg.name)

    def on_step(self, trainer, logs):
        self.bar.update(trainer.step - self.bar.n)
        self.bar.set_postfix({k: f"{v:.3g}" for k, v in logs.items()}, refresh=False)

    def on_eval(self, trainer, metrics):
        self.bar.write(f"step {trainer.step}: " + ", ".join(f"{k}={v:.4g}" for k, v in metrics.items()))

    def on_end(self, trainer, reason):
        self.bar.close()


class Recorder(Callback):
    """Keeps everything the trainer reports, in memory."""

    def __init__(self):
        self.logs, self.evals, self.samples, self.ended = [], [], [], None

    def on_step(self, trainer, logs):
        self.logs.append((trainer.step, logs))

    def on_eval(self, trainer, metrics):
        self.evals.append((trainer.step, metrics))

    def on_sample(self, trainer, image):
        self.samples.append((trainer.step, image))

    def on_end(self, trainer, reason):
        self.ended = reason


class StopAfter(Callback):
    """Requests a stop once `step` is reached (tests, and time-boxed runs)."""

    def __init__(self, step: int):
        self.at = step

    def on_step(self, trainer, logs):
        if trainer.step >= self.at:
            trainer.request_stop()
