"""Trusted checks of chapter 11 (see grader/specs.py): model builders, search grids, search results and a search's winner."""

import functools

import numpy as np

from grader.checklib import compare_results, same_layers
from grader.specs import FunctionCheck, ModelCheck

# An expression for Exercise 1 that describes a built model as plain data: for each layer after the
# input, its class, output shape, parameter count, activation, dropout rate and units; then whether
# the model is compiled, its optimizer's class and learning rate, and the name of its loss.
DESCRIBE = ("(lambda model: [[type(layer).__name__, list(layer.output.shape), layer.count_params(), "
            "getattr(getattr(layer, 'activation', None), '__name__', None), getattr(layer, 'rate', None), "
            "getattr(layer, 'units', None)] for layer in model.layers if not isinstance(layer, layers.InputLayer)] "
            "+ [bool(model.compiled and model.optimizer is not None), type(model.optimizer).__name__, "
            "float(model.optimizer.learning_rate), model.loss if isinstance(model.loss, str) else "
            "getattr(model.loss, 'name', None) or getattr(model.loss, '__name__', type(model.loss).__name__)])")

# An expression for Exercise 2 that puts a grid in a canonical form, since the order of the dicts in
# each list does not matter: its sorted keys, then the sorted (key, value) pairs of each dict, sorted.
CANONICAL = ("(lambda grid: [sorted(grid), "
             "sorted(sorted([key, value] for key, value in entry.items()) for entry in grid['model_kwargs']), "
             "sorted(sorted([key, value] for key, value in entry.items()) for entry in grid['fit_kwargs'])])")

# An expression for Exercise 3: a fitted search stand-in whose cv_results_ holds the grader's candidates.
# Candidate i sets "units" only where has_units[i], and has a fit_kwargs dict only where has_fit[i].
FAKE_SEARCH = ("SimpleNamespace(cv_results_={'params': [{'model_kwargs': {**({'units': int(u)} if set_u else {}), "
               "'learning_rate': float(r)}, **({'fit_kwargs': {'batch_size': int(b)}} if set_b else {})} "
               "for u, r, b, set_u, set_b in zip(units, rates, batches, has_units, has_fit)], "
               "'mean_test_score': scores})")

#: The arguments of halving_schedule in the hidden test (the schedule must match scikit-learn's).
HALVING_CASES = [(20, 2, 100, 1000), (10, 3, 50, 1000), (9, 3, 100, 500), (5, 4, 40, 2000), (1, 3, 100, 1000),
                 (12, 2, 64, 2000), (27, 3, 20, 1500), (7, 2, 300, 1000)]

# Exercise 5 returns a fitted search, which cannot be exported: the check takes the Keras model of its
# best estimator. The settings that the model does not record (3 folds, 2 to 4 candidates, 5 epochs,
# batches of at least 32, build_model, n_jobs=1, beating the default configuration) are checked in
# the kernel by the call itself, which then fails the export; the accuracy is checked by the verifier.
SEARCH_MODEL = (
    "[checks.check_equal(my_search.n_splits_, 3, name='the number of cross-validation folds'), "
    "checks.check_equal(2 <= len({repr(params) for params in my_search.cv_results_['params']}) <= 4, True, "
    "name='the search tries 2 to 4 candidates'), "
    "checks.check_equal(my_search.best_estimator_.history_.params['epochs'], 5, name='the epochs of the refit model'), "
    "checks.check_equal(len(my_search.best_estimator_.history_.epoch), 5, name='the epochs the refit model trained'), "
    "checks.check_equal(my_search.best_estimator_.history_.params['steps'] <= int(np.ceil(len(x_train) / 32)), True, "
    "name='the refit model used batches of at least 32'), "
    "checks.check_equal(my_search.best_estimator_.model is build_model, True, name='the estimator uses build_model'), "
    "checks.check_equal(my_search.n_jobs in (None, 1), True, name='the search runs with n_jobs=1'), "
    "checks.check_at_least(checks.accuracy(my_search.best_estimator_.model_, x_test, y_test), "
    "default_test_accuracy + 0.01, name='the winner beats the default configuration'), "
    "my_search.best_estimator_.model_][-1]")


def builder_inputs(rng):
    """Draw a feature table, one-hot labels and hyperparameters for build_classifier.

    Parameters
    ----------
    rng : numpy.random.Generator
        The grader's random generator.

    Returns
    -------
    dict
        ``X`` (float32, 5 to 40 features), ``y`` (one-hot, 2 to 6 classes), ``depth`` (1 to 3),
        ``units``, ``rate`` (a learning rate) and ``dropout`` (greater than 0).
    """
    features, classes = int(rng.integers(5, 41)), int(rng.integers(2, 7))
    labels = np.arange(20) % classes
    return {"X": rng.normal(size=(20, features)).astype("float32"),
            "y": np.eye(classes, dtype="float32")[labels],
            "depth": np.int64(rng.integers(1, 4)), "units": np.int64(rng.integers(4, 40)),
            "rate": np.float64(10 ** rng.uniform(-4, -1)), "dropout": np.float64(rng.uniform(0.1, 0.6))}


def grid_inputs(rng):
    """Draw option lists for make_param_grid: distinct units, learning rates, batch sizes and epochs.

    Parameters
    ----------
    rng : numpy.random.Generator
        The grader's random generator.

    Returns
    -------
    dict
        Arrays ``units``, ``rates``, ``batches`` and ``epochs``, each of 1 to 3 distinct values.
    """
    def some(values):
        return rng.choice(values, size=int(rng.integers(1, 4)), replace=False)

    return {"units": some(np.arange(4, 129)), "rates": some(np.array([1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2])),
            "batches": some(np.array([16, 32, 64, 128, 256])), "epochs": some(np.arange(1, 20))}


def search_inputs(rng):
    """Draw the candidates and scores of a fitted search stand-in for best_score_by.

    Scores are multiples of 0.05, so that several candidates can tie; some candidates do not set
    ``units``, some have no ``fit_kwargs``.

    Parameters
    ----------
    rng : numpy.random.Generator
        The grader's random generator.

    Returns
    -------
    dict
        Arrays of 12 candidates: ``units``, ``rates``, ``batches``, ``has_units``, ``has_fit`` and ``scores``.
    """
    count = 12
    return {"units": rng.choice([8, 16, 32, 64], size=count), "rates": rng.choice([1e-3, 1e-2, 0.1], size=count),
            "batches": rng.choice([32, 64, 128], size=count), "has_units": rng.random(count) < 0.8,
            "has_fit": rng.random(count) < 0.7, "scores": np.round(rng.uniform(0.2, 1.0, size=count) * 20) / 20}


def halving_inputs(rng):
    """Draw four more argument tuples for halving_schedule, with min_resources at most max_resources.

    Parameters
    ----------
    rng : numpy.random.Generator
        The grader's random generator.

    Returns
    -------
    dict
        ``cases``, an integer array of shape ``(4, 4)``: rows of (n_candidates, factor, min_resources, max_resources).
    """
    cases = []
    for _ in range(4):
        low = int(rng.integers(10, 300))
        cases.append([int(rng.integers(1, 40)), int(rng.integers(2, 5)), low, int(rng.integers(low, 4000))])
    return {"cases": np.array(cases)}


#: What each exported call of exercise 4 holds besides the schedule, for the verifier's messages.
HALVING_PARTS = "the type of the schedule, the type of each round, whether its numbers are integers"


def halving_call(arguments):
    """Return the expression that calls halving_schedule and records the types of what it returns.

    Parameters
    ----------
    arguments : str
        Python source of the four arguments, e.g. ``"20, 2, 100, 1000"``.

    Returns
    -------
    str
        An expression whose value is the schedule, its type's name, the type name of each round and,
        for each number of each round, whether it is an integer (``np.ceil`` returns floats, which
        compare equal to the right integers in the exported JSON).
    """
    return (f"[schedule := halving_schedule({arguments}), type(schedule).__name__, "
            "[type(item).__name__ for item in schedule], "
            "[['int' in type(value).__name__ for value in item] for item in schedule]]")


def same_architecture(model, reference):
    """Check that the best estimator's model is one that build_model makes: the same layers and activations.

    Parameters
    ----------
    model, reference : keras.Model
        The student's and the solution's best models (their widths may differ, so shapes are not compared).

    Returns
    -------
    str or None
        Why the architecture differs, or None.
    """
    problem = same_layers(model, reference, attributes=("activation",), what="the best model")
    return problem and f"{problem} (the estimator must use build_model)"


def digits_test_set():
    """Return the flattened test images of scikit-learn's digits and their labels, as the notebook does."""
    from course_utils import data

    digits = data.load_digits()
    return digits.x_test.reshape(len(digits.x_test), -1), digits.y_test


CHECKS = [
    # A FunctionCheck rather than a ModelCheck: the tests check the optimizer, its learning rate and
    # the loss, and the verifier loads models without their compile settings.
    FunctionCheck("ex1_test",
                  calls=[DESCRIBE + "(build_classifier(X=X, y=y))",
                         DESCRIBE + "(build_classifier(X=X, y=y, num_hidden=int(depth), units=int(units), "
                                    "learning_rate=float(rate), dropout=float(dropout)))",
                         DESCRIBE + "(build_classifier(X=X, y=y, num_hidden=2, units=int(units), dropout=0.0))",
                         DESCRIBE + "(build_classifier(X, y, num_hidden=0, learning_rate=float(rate)))"],
                  inputs=builder_inputs,
                  verify=functools.partial(compare_results, rtol=1e-5, atol=1e-9, labels=[
                      "the description of build_classifier(X, y) with the default arguments (its layers, then "
                      "compiled, optimizer, learning rate, loss)",
                      "the description of build_classifier(X, y, num_hidden, units, learning_rate, dropout > 0)",
                      "the description of build_classifier(X, y, num_hidden=2, units, dropout=0.0)",
                      "the description of build_classifier(X, y, num_hidden=0, learning_rate)"])),
    FunctionCheck("ex2_test",
                  calls=[CANONICAL + "(make_param_grid({'units': units.tolist(), 'learning_rate': rates.tolist()}, "
                                     "{'batch_size': batches.tolist(), 'epochs': epochs.tolist()}))",
                         CANONICAL + "(make_param_grid({'units': units.tolist(), 'dropout': [0.0, 0.5], "
                                     "'num_hidden': [2]}, {}))",
                         CANONICAL + "(make_param_grid({}, {'epochs': epochs.tolist()}))",
                         CANONICAL + "(make_param_grid({}, {}))"],
                  inputs=grid_inputs,
                  verify=functools.partial(compare_results, labels=[
                      f"make_param_grid({options}) (sorted keys, then model_kwargs and fit_kwargs as sorted pairs)"
                      for options in ("units and learning rates, batch sizes and epochs",
                                      "units, dropout and num_hidden, no fit options", "no model options, epochs",
                                      "{}, {}")])),
    # Each call also says whether every score is a Python float, as the hidden test requires, and gives the
    # types of the keys (JSON turns every key into a string, so '16' would otherwise match 16).
    FunctionCheck("ex3_test",
                  calls=[f"[best := best_score_by({FAKE_SEARCH}, {name!r}), "
                         "all(isinstance(score, float) for score in best.values()), "
                         "sorted({type(key).__name__ for key in best})]"
                         for name in ("units", "learning_rate", "batch_size", "dropout")],
                  inputs=search_inputs,
                  verify=functools.partial(compare_results, labels=[
                      f"[best_score_by(search, {name!r}), all its scores are Python floats, the types of its keys] "
                      "on the grader's search"
                      for name in ("units", "learning_rate", "batch_size", "dropout")])),
    FunctionCheck("ex4_test",
                  calls=[halving_call(", ".join(map(str, case))) for case in HALVING_CASES]
                  + [halving_call(", ".join(f"int(cases[{row}, {column}])" for column in range(4))) for row in range(4)],
                  inputs=halving_inputs,
                  verify=functools.partial(compare_results, labels=[
                      f"[halving_schedule{case}, {HALVING_PARTS}]" for case in HALVING_CASES] + [
                      f"[halving_schedule(grader's case {row + 1}), {HALVING_PARTS}]" for row in range(4)])),
    ModelCheck("ex5_test", call=SEARCH_MODEL, same_parameters=False, verify=same_architecture,
               held_out=digits_test_set, threshold=0.93),
]
