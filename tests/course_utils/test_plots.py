"""Tests for course_utils.plots."""

import numpy as np
import pytest

from course_utils import plots


def test_plot_history_draws_one_panel_per_metric_with_validation():
    history = {"loss": [1.0, 0.5, 0.3], "val_loss": [1.1, 0.7, 0.6], "accuracy": [0.5, 0.7, 0.8]}
    figure = plots.plot_history(history)
    axes = figure.get_axes()
    assert [axis.get_ylabel() for axis in axes] == ["loss", "accuracy"]
    assert len(axes[0].get_lines()) == 2  # training and validation loss
    assert len(axes[1].get_lines()) == 1


def test_plot_history_accepts_a_keras_history_object():
    class History:
        history = {"loss": [0.2]}

    assert len(plots.plot_history(History()).get_axes()) == 1


def test_plot_history_errors_are_specific():
    with pytest.raises(ValueError, match="empty"):
        plots.plot_history({})
    with pytest.raises(ValueError, match=r"\['mae'\] are not in the history"):
        plots.plot_history({"loss": [1.0]}, metrics=["mae"])


def test_show_images_titles_wrong_predictions_in_red():
    images = np.zeros((3, 8, 8, 1))
    figure = plots.show_images(images, labels=[0, 1, 2], predictions=[0, 2, 2], num_columns=2)
    titles = [axis.title for axis in figure.get_axes() if axis.get_title()]
    assert len(titles) == 3
    assert titles[1].get_color() == "red" and titles[0].get_color() == "black"


def test_show_images_rejects_a_flat_array():
    with pytest.raises(ValueError, match=r"\(n, height, width"):
        plots.show_images(np.zeros((4, 64)))


def test_confusion_matrix_counts_pairs():
    figure = plots.plot_confusion_matrix([0, 0, 1, 1], [0, 1, 1, 1], class_names=["a", "b"])
    image = figure.get_axes()[0].get_images()[0]
    np.testing.assert_array_equal(image.get_array(), [[1, 1], [0, 2]])


def test_model_diagram_without_graphviz_explains_how_to_install(monkeypatch):
    monkeypatch.setattr(plots.shutil, "which", lambda name: None)
    with pytest.raises(plots.GraphvizMissingError, match="apt-get install graphviz"):
        plots.plot_model_diagram(object())


@pytest.mark.skipif(not plots.graphviz_available(), reason="Graphviz is not installed")
def test_model_diagram_is_written(tmp_path):
    import keras
    from keras import layers

    model = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(2)])
    plots.plot_model_diagram(model, to_file=str(tmp_path / "model.png"))
    assert (tmp_path / "model.png").stat().st_size > 0
