"""Verdicts: when the verifier is told to load Keras, from what a running kernel has reported."""

import json
import os

from grader import verdicts


def test_a_model_export_in_the_report_says_warm(tmp_path):
    report = tmp_path / "report.json"
    assert not verdicts.exported_any(report, {"ex5_test"}), "no report yet"
    report.write_text(json.dumps({"ex1_test": "exported", "ex5_test": "NotImplementedError: "}))
    assert not verdicts.exported_any(report, {"ex5_test"}), "the model's export failed"
    report.write_text(json.dumps({"ex1_test": "exported", "ex5_test": "exported"}))
    assert verdicts.exported_any(report, {"ex5_test"})


def test_an_odd_report_counts_as_no(tmp_path, monkeypatch):
    target = tmp_path / "elsewhere.json"
    target.write_text(json.dumps({"ex5_test": "exported"}))
    link = tmp_path / "report.json"
    os.symlink(target, link)
    assert not verdicts.exported_any(link, {"ex5_test"}), "a link is not followed"
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    assert not verdicts.exported_any(fifo, {"ex5_test"}), "a FIFO would block the grader: it is not opened"
    big = tmp_path / "big.json"
    big.write_text(json.dumps({"ex5_test": "exported"}))
    monkeypatch.setattr(verdicts, "MAX_REPORT_BYTES", 10)
    assert not verdicts.exported_any(big, {"ex5_test"}), "an oversized report is not read"
    monkeypatch.undo()
    (tmp_path / "list.json").write_text("[1, 2]")
    assert not verdicts.exported_any(tmp_path / "list.json", {"ex5_test"})
