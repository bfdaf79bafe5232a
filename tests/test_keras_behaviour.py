"""Keras behaviours that a chapter teaches as facts, checked against the installed Keras.

A chapter that explains a quirk of Keras is only right for the Keras versions that have it. These tests
pin each such fact, so that a new Keras that changes it fails here, loudly, with the sections to rewrite,
instead of leaving learners with a lesson that no longer matches what their notebook prints.
"""

import keras
from sklearn.base import clone


def build_tiny_model(X=None, y=None):
    """Return a compiled one-layer classifier (never trained here: cloning needs only the builder)."""
    model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(loss="categorical_crossentropy")
    return model


def test_cloning_a_scikit_learn_wrapper_drops_fit_kwargs():
    """Chapter 11, Section 3 ("the cloning trap") and its summary teach that ``clone`` forgets ``fit_kwargs``.

    Measured on 2026-12-05 in the source of every Keras release that has ``keras.wrappers``, 3.8.0 to
    3.15.1: ``SKLBase.__sklearn_clone__`` passes on ``model``, ``warm_start`` and ``model_kwargs`` only.
    """
    fit_options = {"epochs": 5, "batch_size": 32, "verbose": 0}
    model_options = {"units": 8}
    configured = keras.wrappers.SKLearnClassifier(model=build_tiny_model, model_kwargs=model_options,
                                                  fit_kwargs=fit_options)
    cloned = clone(configured)
    assert cloned.model is build_tiny_model
    assert cloned.model_kwargs == model_options
    assert cloned.fit_kwargs is None, (
        f"Keras {keras.__version__} keeps fit_kwargs when an SKLearnClassifier is cloned "
        f"(the clone has {cloned.fit_kwargs!r}). Chapter 11 teaches the opposite: rewrite its "
        "'What you will learn' list, Section 3 ('the cloning trap'), the exercise that relies on it and "
        "the summary, then update this test.")


def test_values_set_after_cloning_survive():
    """Chapter 11's fix for the trap: a search sets ``fit_kwargs`` from its grid on each clone, after cloning."""
    cloned = clone(keras.wrappers.SKLearnClassifier(model=build_tiny_model))
    cloned.set_params(fit_kwargs={"epochs": 2, "verbose": 0})
    assert cloned.fit_kwargs == {"epochs": 2, "verbose": 0}, (
        f"Keras {keras.__version__}: set_params no longer sets fit_kwargs on a cloned wrapper; chapter 11's "
        "grid fix ('put fit_kwargs in the grid') no longer holds.")
