"""The instructor's class report in a real browser: its plots render, and students' output stays text.

The grading run is built by hand (its rendering is what is tested here; ``tests/grader/
test_class_report.py`` writes the report through a real ``tfcourse grade``): a class of 24 on
chapter 1, whose failure messages and one student name carry HTML and scripts, as an untrusted
submission's output can.
"""

from __future__ import annotations

from grader import class_report
from grader.results import ExerciseResult, GradingRun, SubmissionResult

#: Chapter 1's exercises and their points.
EXERCISES = {"ex1_test": 2, "ex2_test": 2, "ex3_test": 2, "ex4_test": 2, "ex5_test": 2, "ex6_test": 3, "ex7_test": 2}
#: What a student's output may try: each must be shown as text and never run.
ATTACKS = (
    "<script>window.studentScriptRan = 'script element'</script>",
    "<img src=x onerror=\"window.studentScriptRan = 'onerror attribute'\">",
    "<svg onload=\"window.studentScriptRan = 'svg onload'\"></svg>",
)
MESSAGES = (
    "NotImplementedError: the exercise has not been answered yet",
    "AssertionError: flat_to_channels_first(range(12), 2, 3, 2) has shape (1, 2, 2, 3), expected (1, 2, 3, 2)",
    "AssertionError: gradient_w is [[-1.0]], the value of the function with the bug",
)


def class_run(folder) -> GradingRun:
    """Return a grading run of 24 students (one ungradable) with a few hostile messages and names."""
    results = []
    for number in range(24):
        exercises = []
        for index, (grade_id, points) in enumerate(EXERCISES.items()):
            passed = (number + index) % 3 != 0
            message = "" if passed else MESSAGES[number % len(MESSAGES)]
            if number < len(ATTACKS) and index == 0:
                passed, message = False, f"ValueError: {ATTACKS[number]}"
            exercises.append(ExerciseResult(grade_id, points if passed else 0, points, message))
        results.append(SubmissionResult(f"student{number:02d}", "01_tensors", "graded", exercises, seconds=7.5))
    results.append(SubmissionResult("<b onmouseover=\"window.studentScriptRan = 'name'\">mallory</b>", "01_tensors",
                                    "error", message=f"the notebook is not valid JSON: {ATTACKS[0]}"))
    return GradingRun(results, folder / "gradebook.db", folder / "grades.csv", folder / "feedback",
                      "isolated with bubblewrap: no network, read-only system", 7, {}, seconds=95.0, workers=2)


def test_the_class_report_renders_its_plots_and_runs_no_student_script(browser, steps, tmp_path):
    path = class_report.write(class_run(tmp_path))
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    with steps.step("open the class report", page):
        page.goto(path.as_uri())
        assert page.locator("h1").inner_text() == "Class report"
        plots = page.locator("img.plot")
        assert plots.count() >= 2, "the overview and chapter 1's plot"
        for index in range(plots.count()):
            plot = plots.nth(index)
            plot.scroll_into_view_if_needed()
            size = plot.evaluate("image => [image.complete, image.naturalWidth, image.naturalHeight]")
            assert size[0] and size[1] > 100 and size[2] > 100, f"plot {index} did not render: {size}"
        page.evaluate("window.scrollTo(0, 0)")
        steps.detail(page.locator("body"), "class-report")

    with steps.step("students' output stays text", page):
        page.mouse.move(10, 10)
        for name in page.get_by_text("mallory").all():
            name.hover()  # The hostile name's onmouseover would run now.
        assert page.evaluate("window.studentScriptRan") is None
        assert page.evaluate("document.scripts.length") == 0
        assert dialogs == []
        text = page.locator("body").inner_text()
        for attack in ATTACKS:
            assert attack in text, f"{attack!r} is not shown as text"
        assert '<b onmouseover="window.studentScriptRan = ' in text
        errors = page.locator("#errors")
        errors.scroll_into_view_if_needed()
    page.close()
