"""The assembled app, served on 127.0.0.1: named API endpoints through gradio_client, and a real
browser (Debian's chromium driven by Playwright) clicking Generate on the first tab."""

import os
import shutil

import numpy as np
import pytest
from gradio_client import Client
from PIL import Image

BROWSER_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",  # the machine has no network: don't let chromium try
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def app_url():
    from app import build_app

    app = build_app()
    app.launch(server_name="127.0.0.1", prevent_thread_lock=True, quiet=True)
    yield app.local_url
    app.close()


@pytest.fixture(scope="module")
def client(app_url):
    return Client(app_url, verbose=False)


def chromium_path() -> str:
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")
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
    grid = client.predict(4, 0, api_name="/mnist_gan_grid")
    assert Image.open(grid).size == (2 * (2 * 30 + 2), 2 * (2 * 30 + 2))


def test_api_bad_input_is_a_clear_error_and_the_queue_survives(client):
    with pytest.raises(Exception, match="Number of points must be a whole number"):
        client.predict(0, 4, api_name="/toy_curve_generate")
    batch, _, _ = client.predict(100, 1, api_name="/toy_multiples_generate")
    assert len(batch.split(", ")) == 10


@pytest.mark.browser
def test_browser_clicks_generate_on_the_first_tab(app_url, tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=BROWSER_FLAGS)
        try:
            page = browser.new_page()
            page.goto(app_url)
            assert page.get_by_role("tab", name="Curve y = 1.08^x").get_attribute("aria-selected") == "true"
            page.get_by_role("button", name="Generate").first.click()
            image = page.wait_for_selector("img[src*='file=']", timeout=60_000)
            assert image.evaluate("img => img.complete && img.naturalWidth") > 100
            page.screenshot(path=str(tmp_path / "first_tab.png"))
        finally:
            browser.close()
