"""`make lab` really starts JupyterLab (as root too) on the course, with Chapter 1 open."""

import json

import pytest

from tests.conftest import REPO
from tests.lab_server import get, running_lab


@pytest.mark.skipif(not (REPO / ".venv").is_dir(), reason="make lab uses the .venv that make creates")
def test_make_lab_serves_the_course_and_opens_chapter_1(tmp_path):
    with running_lab(REPO, tmp_path) as lab:
        chapter = get(f"{lab.base}/api/contents/course/01_tensors/01_tensors.ipynb?content=0")
        assert chapter.status == 200 and json.load(chapter)["type"] == "notebook"
        landing = get(f"{lab.base}/")
        assert landing.status == 302
        assert landing.headers["Location"].startswith("/lab/tree/course/01_tensors/01_tensors.ipynb")
        assert "[E " not in lab.log.read_text(), lab.log.read_text()
