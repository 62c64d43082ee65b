"""The project's layout, as the registry promises it: one stem per family in every layer, presets
that list only what differs from the defaults, a tiny run for every model, and the pipeline
contract the CLI's `sample` relies on."""


import numpy as np
import pytest
from omegaconf import OmegaConf

from genai_core.config import CONFIG_DIR, DEFAULTS, PROJECT_ROOT, leaves
from genai_core.registry import COMPOSITES, REGISTRY, clear_pipelines, load_composite, tabs

CORE = PROJECT_ROOT / "genai_core"
SPECS = [*REGISTRY.values(), *COMPOSITES.values()]
FAMILIES = sorted({spec.family for spec in SPECS})
# families whose networks are a shared piece with a name of its own (models/<that>.py)
SHARED_NETWORKS = {"toy_gans": "mlp_gan", "mnist_gan": "mlp_gan"}


@pytest.mark.parametrize("family", FAMILIES)
def test_every_family_has_one_file_per_layer(family):
    members = [spec for spec in SPECS if spec.family == family]
    composite = all(spec.name in COMPOSITES for spec in members)
    wanted = [CORE / "pipelines" / f"{family}.py", PROJECT_ROOT / "tests" / f"test_{family}.py"]
    if not composite:
        networks = SHARED_NETWORKS.get(family, family)
        wanted += [CORE / "models" / f"{networks}.py", CORE / "train" / f"{family}.py"]
    if any(spec.demo for spec in members):
        wanted += [PROJECT_ROOT / "demos" / f"{family}.py", PROJECT_ROOT / "benchmarks" / f"{family}.py"]
    missing = [str(path.relative_to(PROJECT_ROOT)) for path in wanted if not path.is_file()]
    assert not missing, f"{family} lacks {missing}"
    for spec in members:
        for dotted in [spec.demo] + ([] if composite else [spec.task, spec.pipeline]):
            if dotted:
                assert dotted.split(":")[0].rsplit(".", 1)[-1] == family, f"{spec.name}: {dotted}"


PRESETS = sorted(CONFIG_DIR.glob("*.yaml")) + sorted(CONFIG_DIR.glob("presets/*.yaml"))


def overlaid(path) -> dict:
    """What a preset is laid over: the defaults for configs/<model>.yaml; for configs/presets/<model>_*.yaml
    the defaults and that model's preset (a preset there may undo one of the model's values)."""
    if path.parent.name != "presets":
        return dict(leaves(DEFAULTS))
    model = max((name for name in REGISTRY if path.stem.startswith(name)), key=len)
    return dict(leaves(OmegaConf.to_container(REGISTRY[model].config([]))))


@pytest.mark.parametrize("path", PRESETS, ids=lambda p: p.name)
def test_presets_list_only_what_differs_from_the_defaults(path):
    under = overlaid(path)
    same = [k for k, v in leaves(OmegaConf.to_container(OmegaConf.load(path))) if under.get(k, ...) == v]
    assert not same, f"{path.name} repeats the values of {same} it is laid over"


@pytest.mark.parametrize("name", list(REGISTRY))
def test_every_model_has_a_preset_and_a_tiny_run(name):
    assert (CONFIG_DIR / f"{name}.yaml").is_file() and (CONFIG_DIR / "tiny" / f"{name}.yaml").is_file()
    assert REGISTRY[name].tiny and REGISTRY[name].config(REGISTRY[name].tiny).name == name


@pytest.mark.parametrize("spec", [s for s in tabs() if s.name in REGISTRY], ids=lambda s: s.name)
def test_every_model_with_a_tab_samples_a_picture(spec):
    image = spec.load_pipeline().sample_image(n=4, seed=0)
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3 and min(image.shape[:2]) > 16


@pytest.mark.parametrize("name", [n for n, s in REGISTRY.items() if not s.demo])
def test_a_model_without_pictures_says_so(name):
    pipeline = REGISTRY[name].load_pipeline()
    try:
        image = pipeline.sample_image(n=2, seed=0)
    except ValueError as err:
        assert "nothing to sample" in str(err)
    else:
        assert image.dtype == np.uint8 and image.ndim == 3


def test_a_composite_is_rebuilt_after_its_parts_change():
    """Promoting a part (clear_pipelines after it) must reach the composite's tab."""
    for name in COMPOSITES:
        first = load_composite(name)
        assert load_composite(name) is first
        clear_pipelines()
        assert load_composite(name) is not first


def test_no_module_uses_pyplot():
    folders = [PROJECT_ROOT / folder for folder in ("genai_core", "demos", "benchmarks")]
    files = [p for folder in folders for p in folder.rglob("*.py")]
    offenders = [str(p.relative_to(PROJECT_ROOT)) for p in files if "matplotlib.pyplot" in p.read_text()]
    assert not offenders, f"pyplot keeps global state across handler threads: {offenders}"


def test_the_core_never_imports_gradio():
    offenders = [str(p.relative_to(PROJECT_ROOT)) for p in CORE.rglob("*.py")
                 if "import gradio" in p.read_text() or "from gradio" in p.read_text()]
    assert not offenders
