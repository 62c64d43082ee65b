"""Driving the app in Debian's chromium through Playwright (tests and scripts/screenshots.py)."""

import os
import shutil

LAPTOP = {"width": 1280, "height": 800}
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",  # the machine has no network: don't let chromium try
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path() -> str | None:
    return os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")


def open_tab(page, spec) -> None:
    """Click the model's group in the top row of tabs, then (in a group of several) its own tab."""
    from genai_core.registry import tab_groups

    for group, specs in tab_groups().items():
        if spec in specs:
            page.get_by_role("tab", name=group, exact=True).click()
            if len(specs) > 1:
                page.get_by_role("tab", name=spec.title, exact=True).click()
            page.locator(f"#tab-{spec.name}").wait_for(state="visible")
            return
    raise ValueError(f"{spec.name} has no tab")
