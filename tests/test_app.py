"""The assembled app, served on 127.0.0.1: named API endpoints through gradio_client, and a real
browser (Debian's chromium driven by Playwright) clicking Generate on the first tab."""

import os

import numpy as np
import pytest
from PIL import Image

from genai_core.registry import tab_groups, tab_module, tabs

from . import browser


def chromium_path() -> str:
    path = browser.chromium_path()
    if path:
        return path
    if os.environ.get("CI"):
        pytest.fail("chromium is not installed; .ci/run installs Debian's chromium package")
    pytest.skip("chromium not installed (apt-get install chromium)")


def test_every_tab_action_is_a_named_endpoint(client):
    names = set(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
    for endpoint in ["/toy_curve_generate", "/toy_multiples_generate", "/mnist_gan_grid", "/mnist_gan_walk"]:
        assert endpoint in names


def test_api_calls_return_images(client):
    plot, stats = client.predict(300, 4, api_name="/toy_curve_generate")
    assert np.asarray(Image.open(plot)).ndim == 3 and "MSE" in stats
    grid = client.predict("MNIST digits", 4, 0, api_name="/mnist_gan_grid")
    width, height = Image.open(grid).size
    assert width == 4 * (84 + 6) + 6 and height > 84 + 6  # four 3x digits in a row, each labelled


def test_api_bad_input_is_a_clear_error_and_the_queue_survives(client):
    with pytest.raises(Exception, match="Number of points must be a number from 1 to 5000, got 0"):
        client.predict(0, 4, api_name="/toy_curve_generate")
    batch, _, _ = client.predict(100, 1, api_name="/toy_multiples_generate")
    assert len(batch.split(", ")) == 10


@pytest.fixture(scope="module")
def bad_uploads(tmp_path_factory):
    """A text file named like a photo, a truncated PNG, and an 8000x8000 PNG (64 MP, a few hundred KB)."""
    folder = tmp_path_factory.mktemp("uploads")
    fake = folder / "not_a_photo.png"
    fake.write_bytes(b"%PDF-1.4 this is a document, not an image")
    whole = folder / "whole.png"
    Image.new("RGB", (64, 64), (200, 30, 30)).save(whole)
    truncated = folder / "truncated.png"
    truncated.write_bytes(whole.read_bytes()[:90])
    huge = folder / "huge.png"
    Image.new("RGB", (8000, 8000), (10, 10, 10)).save(huge)
    return {"not an image": fake, "damaged|not an image": truncated, "too large": huge}


@pytest.mark.parametrize("endpoint", ["/cyclegan_hair_convert", "/vae_reconstruct"])
def test_api_bad_uploads_are_clear_errors_and_the_queue_survives(client, bad_uploads, endpoint):
    from gradio_client import handle_file

    from demos import cyclegan, vae

    example = {"/cyclegan_hair_convert": cyclegan.API_EXAMPLES["cyclegan_hair_convert"],
               "/vae_reconstruct": vae.API_EXAMPLES["vae_reconstruct"]}[endpoint]
    photo_at = 0 if endpoint == "/cyclegan_hair_convert" else 1
    for message, path in bad_uploads.items():
        args = list(example)
        args[photo_at] = handle_file(str(path))
        with pytest.raises(Exception, match=message):
            client.predict(*args, api_name=endpoint)
    assert client.predict(*example, api_name=endpoint)  # the next good request is served


# The values (image sources, text) of a tab's result elements: a new one means the action answered.
RESULTS_JS = """([panel, selector]) => Array.from(document.querySelector(panel).querySelectorAll(selector))
    .map(e => e.currentSrc || e.src || e.value || e.textContent).filter(v => v)"""

def tabs_with_demos():
    return tabs()


@pytest.fixture(scope="module")
def page(app_url):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_path(), args=browser.FLAGS)
        page = chromium.new_page(viewport=browser.LAPTOP)
        page.goto(app_url)
        yield page
        chromium.close()


@pytest.mark.browser
def test_browser_clicks_generate_on_the_first_tab(page, tmp_path):
    first = tabs_with_demos()[0]
    assert page.get_by_role("tab", name=first.title).get_attribute("aria-selected") == "true"
    panel = page.locator(f"#tab-{first.name}")
    panel.get_by_role("button", name="Generate").first.click()
    image = panel.locator("img[src*='file=']").first
    image.wait_for(timeout=60_000)
    assert image.evaluate("img => img.complete && img.naturalWidth") > 100
    page.screenshot(path=str(tmp_path / "first_tab.png"))


@pytest.mark.browser
def test_browser_every_top_level_tab_is_visible_at_laptop_size(page):
    """No tab hides behind an overflow menu at 1280x800: each group, Train and About has its own
    visible button in the top row."""
    page.reload()
    page.get_by_role("tab", name="About", exact=True).wait_for(state="attached")
    for name in [*tab_groups(), "Train", "About"]:
        tab = page.get_by_role("tab", name=name, exact=True)
        assert tab.is_visible(), f"the {name} tab is hidden at 1280x800"
        box = tab.bounding_box()
        assert box["x"] + box["width"] <= browser.LAPTOP["width"]
    page.get_by_role("tab", name="Train", exact=True).click()
    start = page.get_by_role("button", name="Start", exact=True)
    box = start.bounding_box()
    assert box and box["y"] + box["height"] <= browser.LAPTOP["height"], "Train's Start is below the fold"


@pytest.mark.browser
@pytest.mark.parametrize("spec", tabs_with_demos(), ids=lambda spec: spec.name)
def test_browser_runs_every_tabs_main_action(page, spec):
    """Open the tab (one or two clicks), find its main button without scrolling, press it, and wait
    for its result; no error toast may appear."""
    demo = tab_module(spec)
    page.reload()  # a fresh page: a result identical to an earlier one would not look new
    browser.open_tab(page, spec)
    panel = page.locator(f"#tab-{spec.name}")
    button = panel.get_by_role("button", name=demo.MAIN_BUTTON, exact=True).first
    box = button.bounding_box()
    assert box and box["y"] + box["height"] <= browser.LAPTOP["height"], (
        f"{spec.title}: '{demo.MAIN_BUTTON}' is below the fold at 1280x800 (top {box and box['y']:.0f} px)")
    selector = getattr(demo, "BROWSER_RESULT", "img[src*='file=']")
    before = page.evaluate(RESULTS_JS, [f"#tab-{spec.name}", selector])
    button.click()
    page.wait_for_function(
        f"([panel, selector, before]) => ({RESULTS_JS})([panel, selector]).some(v => !before.includes(v))",
        arg=[f"#tab-{spec.name}", selector, before],
        timeout=120_000,
    )
    assert page.locator(".toast-body.error").count() == 0


@pytest.mark.browser
def test_browser_a_drawing_counts_from_the_first_stroke(page):
    """The sketchpad starts with the brush: a stroke drawn straight away is a digit, not 'empty'."""
    from genai_core.registry import get

    page.reload()
    browser.open_tab(page, get("mnist_autoencoder"))
    panel = page.locator("#tab-mnist_autoencoder")
    panel.get_by_role("tab", name="Draw", exact=True).click()
    page.locator('#digit-sketch button[aria-label="Brush"]').wait_for()
    page.wait_for_timeout(500)
    box = panel.locator("#digit-sketch canvas").first.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] * 0.25
    page.mouse.move(x, y)
    page.mouse.down()
    for i in range(1, 21):
        page.mouse.move(x, y + i * box["height"] * 0.025)
    page.mouse.up()
    panel.get_by_role("button", name="Reconstruct drawing").click()
    panel.get_by_text("Your drawing, normalised like MNIST").first.wait_for(timeout=60_000)
    assert page.locator(".toast-body.error").count() == 0
