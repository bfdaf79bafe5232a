"""Copy the browser tests' element screenshots into the small images that README shows.

Run the browser tests first (``pytest tests/browser``), then::

    .venv/bin/python -m tests.browser.readme_images [--class-report grading/class_report.html]

The class report's image comes from the browser test's hand-made class, or, with ``--class-report``,
from the report of a real ``tfcourse grade`` run (README's shows chapter 1 graded for a few
submissions). The images are cut to the part README talks about and reduced to a palette of 256
colours, so each stays under 100 kB.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from PIL import Image

from tests.browser.conftest import find_chromium, screenshot_root
from tests.conftest import REPO

#: Where README's images live.
README_IMAGES = REPO / "tests" / "browser" / "readme_images"
#: (test folder, detail screenshot, README image, greatest height in pixels kept from the top).
IMAGES = (
    ("test_a_learner_opens_chapter_1_runs_setup_solves_scores_and_validates", "detail-setup-cell.png",
     "setup-cell.png", 400),
    ("test_a_learner_opens_chapter_1_runs_setup_solves_scores_and_validates", "detail-score-cell.png",
     "score-cell.png", 1200),
    ("test_the_class_report_renders_its_plots_and_runs_no_student_script", "detail-class-report.png",
     "class-report.png", 1480),
)


def shrink(source: Path, target: Path, height: int) -> int:
    """Write ``source`` cut to its top ``height`` pixels, with 256 colours, to ``target``; return its size."""
    with Image.open(source) as image:
        image = image.convert("RGB")
        image = image.crop((0, 0, image.width, min(height, image.height)))
        image.quantize(colors=256).save(target, optimize=True)
    return target.stat().st_size


def screenshot_page(page: Path, target: Path) -> None:
    """Screenshot the whole HTML file ``page`` in the system's Chromium into ``target``."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=find_chromium(), headless=True)
        view = browser.new_page(viewport={"width": 1024, "height": 900})
        view.goto(page.resolve().as_uri())
        view.screenshot(path=str(target), full_page=True)
        browser.close()


def main(argv: list[str] | None = None) -> int:
    """Make README's images from the latest browser test screenshots; report a missing one."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--class-report", type=Path, help="a class_report.html to show instead of the test's")
    args = parser.parse_args(argv)
    README_IMAGES.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="tfcourse-readme-"))
    missing = 0
    for folder, name, image, height in IMAGES:
        source = screenshot_root() / folder / name
        if image == "class-report.png" and args.class_report:
            source = scratch / "class-report.png"
            screenshot_page(args.class_report, source)
        if not source.is_file():
            print(f"missing: {source} (run pytest tests/browser first)", file=sys.stderr)
            missing += 1
            continue
        size = shrink(source, README_IMAGES / image, height)
        print(f"{README_IMAGES / image}: {size / 1024:.0f} kB")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
