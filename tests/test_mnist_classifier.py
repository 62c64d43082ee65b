"""The MNIST referee: a tiny offline run exports a classifier whose classes and features the digit
models' metrics use; the shipped one reads the digits the project draws."""


from genai_core.data.mnist import digit_batch, synthetic_digits
from genai_core.pipelines.mnist_classifier import MnistClassifierPipeline
from genai_core.registry import get, load_pipeline
from genai_core.train import Trainer
from genai_core.train.callbacks import Recorder


def test_tiny_run_exports_a_classifier(tmp_path):
    spec = get("mnist_classifier")
    recorder = Recorder()
    cfg = spec.config([*spec.tiny, f"out_dir={tmp_path}"])
    assert Trainer(spec.task_class(), cfg, callbacks=[recorder]).fit() == "finished"
    assert 0 <= recorder.evals[-1][1]["accuracy"] <= 1
    referee = MnistClassifierPipeline.from_pretrained(tmp_path)
    digits = digit_batch(synthetic_digits(7, seed=1)[0])
    assert referee.predict(digits).shape == (7,) and referee.features(digits).shape == (7, 128)


def test_the_shipped_referee_reads_drawn_digits():
    images, labels = synthetic_digits(200, seed=3)
    read = load_pipeline("mnist_classifier").predict(digit_batch(images))
    assert (read == labels.numpy()).mean() > 0.5  # font digits, not handwriting; chance is 0.1
