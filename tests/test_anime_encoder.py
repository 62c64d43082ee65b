"""The anime-face encoder (the DCGAN's FD referee): a tiny offline run; only the encoder ships."""

import numpy as np

from genai_core.data.anime_faces import synthetic_faces
from genai_core.images import to_model_range
from genai_core.pipelines.anime_encoder import AnimeEncoderPipeline
from genai_core.registry import get
from genai_core.train import Trainer


def test_referee_ships_the_encoder_only(tmp_path):
    spec = get("anime_encoder")
    cfg = spec.config([*spec.tiny, f"out_dir={tmp_path / 'encoder'}"])
    assert Trainer(spec.task_class(), cfg).fit() == "finished"
    referee = AnimeEncoderPipeline.from_pretrained(tmp_path / "encoder")
    features = referee.features(to_model_range(synthetic_faces(5, seed=3)))
    assert features.shape == (5, 16) and features.dtype == np.float32
    assert not hasattr(referee, "decoder")


