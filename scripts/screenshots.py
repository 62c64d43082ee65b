"""Screenshots of every tab at laptop size (1280x800), after pressing its main button, for the README.

Run:  python -m scripts.screenshots [--out docs/screenshots] [--tabs dcgan,vae_real_faces]
Serves the app on 127.0.0.1, drives Debian's chromium through Playwright, and writes one PNG per tab
(the visible window, not the whole page: what a visitor sees without scrolling)."""

import argparse
from pathlib import Path

from genai_core.registry import tab_module, tabs
from tests import browser

RESULT_WAIT_MS = 120_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="docs/screenshots")
    parser.add_argument("--tabs", default="", help="comma-separated registry names (default: every tab)")
    parser.add_argument("--full-page", action="store_true", help="the whole page, not just the window")
    args = parser.parse_args()
    wanted = [t for t in args.tabs.split(",") if t]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    from playwright.sync_api import sync_playwright

    from app import LAUNCH, build_app

    app = build_app()
    app.launch(server_name="127.0.0.1", prevent_thread_lock=True, quiet=True, **LAUNCH)
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=browser.chromium_path(), args=browser.FLAGS)
            page = chromium.new_page(viewport=browser.LAPTOP)
            for spec in tabs():
                if wanted and spec.name not in wanted:
                    continue
                page.goto(app.local_url)
                browser.open_tab(page, spec)
                button = page.locator(f"#tab-{spec.name}").get_by_role(
                    "button", name=tab_module(spec).MAIN_BUTTON, exact=True).first
                button.click()
                page.wait_for_timeout(500)
                busy = page.locator(".progress-text, .eta-bar").first
                busy.wait_for(state="hidden", timeout=RESULT_WAIT_MS)
                page.wait_for_timeout(1500)  # images fade in
                page.evaluate("window.scrollTo(0, 0)")  # the click scrolled the button into view
                path = out / f"{spec.name}.png"
                page.screenshot(path=str(path), full_page=args.full_page)
                print(path)
            chromium.close()
    finally:
        app.close()


if __name__ == "__main__":
    main()
