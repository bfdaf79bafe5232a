"""Trusted checks of chapter 8: merge layers, a multi-input multi-output ticket model, the corrected training of a
three-head profile model, the ticket model's training, a siamese model, an Inception block and the shapes of
merge layers."""

import functools
from collections import Counter

import numpy as np

from grader.checks import FunctionCheck, ModelCheck
from grader.checks.library import COLUMN_NAMES, layer_rows, worst_metric


def outputs_by_name(model, inputs, predict=False):
    """Call a model and return its outputs as NumPy arrays keyed by output name.

    Parameters
    ----------
    model : keras.Model
        A model whose outputs are a dict or a list of named output layers.
    inputs : dict
        A batch keyed by input name.
    predict : bool
        Use ``model.predict`` (in batches of 32, for the held-out sets of the trained models) instead of
        calling the model on the whole batch at once. Both modes are kept: batches of another size
        can change the last digits of the outputs, and so the measured values.

    Returns
    -------
    dict of numpy.ndarray
    """
    outputs = model.predict(inputs, verbose=0) if predict else model(inputs)
    if not isinstance(outputs, dict):
        outputs = dict(zip(model.output_names, outputs if isinstance(outputs, (list, tuple)) else [outputs]))
    return {name: np.asarray(values) for name, values in outputs.items()}


def input_names(model):
    """Return the sorted names of a model's inputs."""
    return sorted(tensor.name for tensor in model.inputs)


def same_comparison(model, reference):
    """Require inputs ``a`` and ``b`` and the reference's outputs on random vectors and on ``(a, 3a)``.

    Parameters
    ----------
    model, reference : keras.Model
        The student's and the solution's comparison models (no weights, so outputs are comparable).

    Returns
    -------
    str or None
        Why the models differ, or None.
    """
    if input_names(model) != ["a", "b"]:
        return f"the model's inputs are named {input_names(model)}, expected ['a', 'b']"
    rng = np.random.default_rng(0)
    a = rng.normal(size=(5, 6)).astype("float32")
    for b in (rng.normal(size=(5, 6)).astype("float32"), 3 * a):
        got = np.asarray(model({"a": a, "b": b}))
        expected = np.asarray(reference({"a": a, "b": b}))
        if got.shape != expected.shape or not np.allclose(got, expected, rtol=1e-4, atol=1e-5):
            return ("the output differs from [a + b, a - b, a * b, max(a, b), cosine(a, b)] "
                    "(check the order and use Dot(axes=1, normalize=True))")
    return None


#: The columns of the layer comparisons of Exercises 2 and 6, after each layer's class.
LAYER_COLUMNS = ("output_shape", "parameters", "activation")


def same_layers_any_order(model, reference, what, hint):
    """Require the reference's layers, in any order, by class, output shape, parameters and activation.

    The branches of a functional model may be built in any order, so the layers are compared as a
    multiset of :func:`grader.checks.library.layer_rows` rows (nested models replaced by their layers).

    Parameters
    ----------
    model, reference : keras.Model
        The student's and the solution's models.
    what : str
        What ``model`` is, for messages, e.g. ``"the block"``.
    hint : str
        What the specification asks of the layers, in words, for messages.

    Returns
    -------
    str or None
        The hint, then the student's layers that the reference lacks and the reference's layers that
        the student's model lacks, or None when the layers match.
    """
    got = Counter(layer_rows(model, LAYER_COLUMNS, nested=True))
    expected = Counter(layer_rows(reference, LAYER_COLUMNS, nested=True))
    if got == expected:
        return None

    def listed(rows):
        # Rows hold None and tuples beside strings, so they are sorted by their text; a row that
        # repeats is written once with its count, to keep the message short.
        return "[" + ", ".join(f"{count} x {row}" if count > 1 else str(row)
                               for row, count in sorted(rows.items(), key=repr)) + "]"

    columns = ", ".join(["class", *(COLUMN_NAMES[column] for column in LAYER_COLUMNS)])
    return (f"{what}'s layers differ from the specification ({hint}): it has {listed(got - expected)} "
            f"instead of {listed(expected - got)} ({columns})")


def ticket_batch(tags):
    """Return two tickets with the given tags and simple texts."""
    return {"title": np.array(["refund please", "app crash"], dtype=object),
            "body": np.array(["my invoice is wrong.", "the screen froze."], dtype=object), "tags": tags}


def ticket_rules(model, reference):
    """Require the ticket model's input and output names and shapes, a priority read from the tags, and its layers.

    Parameters
    ----------
    model, reference : keras.Model
        The student's ticket model (5 tags, 3 departments) and the solution's.

    Returns
    -------
    str or None
        The first rule broken, or None.
    """
    if input_names(model) != ["body", "tags", "title"]:
        return f"the model's inputs are named {input_names(model)}, expected ['body', 'tags', 'title']"
    tags = np.zeros((2, 5), "float32")
    tags[0, 1] = 1.0
    predictions = outputs_by_name(model, ticket_batch(tags))
    if sorted(predictions) != ["department", "priority"]:
        return f"the model's outputs are named {sorted(predictions)}, expected ['department', 'priority']"
    if predictions["department"].shape != (2, 3) or predictions["priority"].shape != (2, 1):
        return (f"the outputs have shapes department {predictions['department'].shape} and priority "
                f"{predictions['priority'].shape} for 2 tickets, expected (2, 3) and (2, 1)")
    if not np.allclose(predictions["department"].sum(axis=1), 1.0, atol=1e-4):
        return "the department probabilities do not add up to 1 (use a softmax)"
    if not np.all((predictions["priority"] > 0) & (predictions["priority"] < 1)):
        return "a priority lies outside (0, 1) (use a sigmoid)"
    other = dict(ticket_batch(tags), title=np.array(["hello", "hello"], dtype=object),
                 body=np.array(["thanks.", "thanks."], dtype=object))
    if not np.allclose(outputs_by_name(model, other)["priority"], predictions["priority"], rtol=1e-5, atol=1e-6):
        return "the priority changes with the texts: the priority head must read only the tags"
    # A missing hidden activation or another pooling layer keeps the parameter count and every
    # property above, so the layers themselves are compared last.
    return same_layers_any_order(model, reference, "the model", (
        'GlobalAveragePooling1D on each text, activation="relu" on both hidden Dense layers'))


def new_and_test_sets(generator):
    """Return the notebook's test set and the hidden test's new set, as ``(inputs, targets)`` lists of two.

    Parameters
    ----------
    generator : str
        The name of the generator in ``course_utils.synthetic``, e.g. ``"make_author_posts"``; the notebook's
        test set is its 1,000 examples of seed 1, the hidden test's new set those of seed 2.
    """
    from course_utils import synthetic

    data_sets = [getattr(synthetic, generator)(1000, seed=seed) for seed in (1, 2)]
    return [data_set.inputs for data_set in data_sets], [data_set.targets for data_set in data_sets]


#: ``posts_test`` and the hidden test's new posts.
new_and_test_posts = functools.partial(new_and_test_sets, "make_author_posts")


def profile_scores(model, inputs, targets):
    """Return the age MAE, the income accuracy and the gender accuracy of a profile model on one set of posts."""
    predictions = outputs_by_name(model, inputs, predict=True)
    age_mae = np.mean(np.abs(predictions["age"].reshape(-1) - targets["age"]))
    income_accuracy = np.mean(predictions["income"].argmax(axis=1) == targets["income"])
    gender_accuracy = np.mean((predictions["gender"].reshape(-1) > 0.5) == (targets["gender"] > 0.5))
    return float(age_mae), float(income_accuracy), float(gender_accuracy)


def gender_accuracy(model, inputs, targets):
    """Return the gender accuracy of the trained profile model on one set of posts."""
    return profile_scores(model, inputs, targets)[2]


def profile_rules(model, reference):
    """Require the outputs age, income and gender, an age MAE below 6.5 years and an income accuracy of 72 %.

    Both targets hold on ``posts_test`` and on the hidden test's new posts; the gender accuracy is
    the check's measured metric.

    Parameters
    ----------
    model, reference : keras.Model
        The student's trained profile model and the solution's (unused).

    Returns
    -------
    str or None
        The first rule broken, or None.
    """
    if sorted(model.output_names) != ["age", "gender", "income"]:
        return f"the model's outputs are named {sorted(model.output_names)}, expected ['age', 'gender', 'income']"
    for name, inputs, targets in zip(["posts_test", "new posts"], *new_and_test_posts()):
        age_mae, income_accuracy, _ = profile_scores(model, inputs, targets)
        if not age_mae < 6.5:
            return f"the age MAE on {name} is {age_mae:.3f} years, not below the target of 6.5"
        if not income_accuracy >= 0.72:
            return f"the income accuracy on {name} is {income_accuracy:.4f}, below the target of 0.72"
    return None


#: ``tickets_test`` and the hidden test's new tickets.
new_and_test_tickets = functools.partial(new_and_test_sets, "make_support_tickets")


def ticket_scores(model, inputs, targets):
    """Return the department accuracy and priority MAE of a ticket model on one set of tickets."""
    predictions = outputs_by_name(model, inputs, predict=True)
    accuracy = np.mean(predictions["department"].argmax(axis=1) == targets["department"])
    mae = np.mean(np.abs(predictions["priority"].reshape(-1) - targets["priority"]))
    return float(accuracy), float(mae)


def department_accuracy(model, inputs, targets):
    """Return the department accuracy of the trained ticket model on one set of tickets."""
    return ticket_scores(model, inputs, targets)[0]


def priority_mae_below(model, reference):
    """Require a priority MAE below 0.07 on ``tickets_test`` and on the new tickets.

    Parameters
    ----------
    model, reference : keras.Model
        The student's trained ticket model and the solution's (unused).

    Returns
    -------
    str or None
        Why the priority is not good enough, or None.
    """
    for name, inputs, targets in zip(["tickets_test", "new tickets"], *new_and_test_tickets()):
        mae = ticket_scores(model, inputs, targets)[1]
        if not mae < 0.07:
            return f"the priority MAE on {name} is {mae:.4f}, not below the target of 0.07"
    return None


def count_layers(model, layer_class):
    """Count the layers of a class in a model, looking inside nested models."""
    return sum(count_layers(layer, layer_class) if hasattr(layer, "layers") else isinstance(layer, layer_class)
               for layer in model.layers)


def siamese_rules(model, reference):
    """Require inputs ``left`` and ``right``, one shared LSTM, symmetric scores in (0, 1), a mask and the features.

    Parameters
    ----------
    model, reference : keras.Model
        The student's siamese model and the solution's, whose weights the student's model receives
        for the last comparison.

    Returns
    -------
    str or None
        The first rule broken, or None.
    """
    from keras import layers

    if input_names(model) != ["left", "right"]:
        return f"the model's inputs are named {input_names(model)}, expected ['left', 'right']"
    lstms = count_layers(model, layers.LSTM)
    if lstms != 1:
        return f"the model has {lstms} LSTM layers, expected one, shared by both inputs"
    left = np.array(["rain and snow near the storm", "pizza then pasta then soup", "tennis"], dtype=object)
    right = np.array(["tennis", "no pasta no bread no cheese", "rain and snow near the storm"], dtype=object)
    scores = np.asarray(model({"left": left, "right": right}))
    if not np.all((scores > 0) & (scores < 1)):
        return "a score lies outside (0, 1) (use a sigmoid)"
    swapped = np.asarray(model({"left": right, "right": left}))
    if not np.allclose(swapped, scores, rtol=1e-5, atol=1e-6) or abs(scores[0, 0] - scores[2, 0]) >= 1e-5:
        return "the scores change when the sentences are swapped (use only symmetric merges: Add, abs of Subtract, Multiply)"
    masks = [row[1] for row in layer_rows(model, ("mask_zero",), nested=True) if row[0] == "Embedding"]
    if not masks or not all(masks):
        return "the Embedding needs mask_zero=True, so that the LSTM skips the padding of short sentences"
    # Another order of the features, or another encoder output, keeps the parameter count and the
    # symmetry. With the solution's weights, the student's model must give the solution's scores.
    shapes = [tuple(weight.shape) for weight in model.weights]
    expected_shapes = [tuple(weight.shape) for weight in reference.weights]
    if shapes != expected_shapes:
        return (f"the model's weights have shapes {shapes}, expected {expected_shapes} "
                "(one Embedding, one LSTM and one Dense layer, in this order)")
    model.set_weights(reference.get_weights())
    got = np.asarray(model({"left": left, "right": right}))
    expected = np.asarray(reference({"left": left, "right": right}))
    if not np.allclose(got, expected, rtol=1e-4, atol=1e-5):
        return ("with the solution's weights, the scores differ from the solution's: concatenate the features "
                "[a + b, |a - b|, a * b] in this order, where a and b are the LSTM's last outputs")
    return None


def inception_rules(model, reference):
    """Require the reference's layers, the kernel sizes 1, 1, 1, 1, 3, 5, ReLU "same" convolutions and a 3x3 pooling at stride 1.

    Parameters
    ----------
    model, reference : keras.Model
        The student's and the solution's Inception block on a (7, 9, 5) input with 4 filters.

    Returns
    -------
    str or None
        The first rule broken, or None.
    """
    def types(net):
        return sorted(type(layer).__name__ for layer in net.layers if type(layer).__name__ != "InputLayer")

    if types(model) != types(reference):
        return f"the block's layers are {types(model)}, expected {types(reference)}"
    convolutions = [layer for layer in model.layers if type(layer).__name__ == "Conv2D"]
    kernel_sizes = sorted(layer.kernel_size[0] for layer in convolutions)
    if kernel_sizes != [1, 1, 1, 1, 3, 5]:
        return f"the convolutions have kernel sizes {kernel_sizes}, expected [1, 1, 1, 1, 3, 5]"
    if any(layer.get_config()["activation"] != "relu" or layer.padding != "same" for layer in convolutions):
        return 'every convolution needs padding="same" and activation="relu"'
    pooling = [(tuple(layer.pool_size), tuple(layer.strides), layer.padding)
               for layer in model.layers if type(layer).__name__ == "MaxPooling2D"]
    if pooling != [((3, 3), (1, 1), "same")]:
        return f"the pooling branch uses (pool_size, strides, padding) {pooling[0]}, expected ((3, 3), (1, 1), 'same')"
    if not np.all(np.asarray(model(np.ones((2, 7, 9, 5), "float32"))) >= 0):
        return "some outputs are negative (use a ReLU on every convolution)"
    # Layers in another order within a branch keep the types, the kernel sizes and the parameter
    # count; the output shapes show them.
    return same_layers_any_order(model, reference, "the block", (
        'the pooling branch is MaxPooling2D(3, strides=1, padding="same") on the input, then its 1x1 Conv2D'))


def merge_cases(rng):
    """Draw four (steps, features) pairs for ``predict_merge_shapes``.

    Parameters
    ----------
    rng : numpy.random.Generator
        The grader's generator.

    Returns
    -------
    dict of numpy.ndarray
        ``cases``: shape ``(4, 2)``, integers from 1 to 30.
    """
    return {"cases": rng.integers(1, 31, size=(4, 2))}


def same_shapes_by_key(results, reference_results):
    """Require, for every call, the solution's five keys and shapes (tuples or lists, None for the batch).

    Parameters
    ----------
    results, reference_results : list
        What ``predict_merge_shapes`` returned for each (steps, features) pair, from the student and from
        the solution.

    Returns
    -------
    str or None
        The first shape that differs from Keras's, or None.
    """
    def normalized(shape):
        return tuple(None if size is None else int(size) for size in np.asarray(shape, dtype=object).reshape(-1))

    for result, expected in zip(results, reference_results):
        if not isinstance(result, dict) or sorted(result) != sorted(expected):
            keys = sorted(result) if isinstance(result, dict) else type(result).__name__
            return f"predict_merge_shapes returns {keys}, expected a dict with keys {sorted(expected)}"
        for key in expected:
            try:
                got = normalized(result[key])
            except (TypeError, ValueError):
                return f"the shape of {key!r} is {result[key]!r}, expected a tuple of None and integers"
            if got != normalized(expected[key]):
                return (f"the shape of {key!r} differs from Keras's: got {got}, expected {normalized(expected[key])} "
                        f"(steps={expected['attended'][1]}, features={expected['attended'][2]})")
    return None


# Exercise 2 uses a new title vectorizer with 30 tokens, as the hidden test does, so that the
# embedding sizes must come from the vectorizer arguments.
TICKET_CALL = ('(title_30 := layers.TextVectorization(max_tokens=30, output_sequence_length=5), '
               'title_30.adapt(tickets_train.inputs["title"]), '
               'build_ticket_model(title_30, body_vectorizer, 5, 3, embedding_dim=6, units=10))[-1]')
CHECKS = [
    ModelCheck("ex1_test", call="build_comparison_model(6)", verify=same_comparison),
    # Either a dict or a list of outputs is allowed, so the shapes are checked by name in ticket_rules.
    ModelCheck("ex2_test", call=TICKET_CALL, same_shapes=False, verify=ticket_rules),
    # Exercise 3 exports the profile model the test cell trained: the gender accuracy is the measured
    # metric, the age MAE and the income accuracy are checked by profile_rules, all on posts_test and
    # on the hidden test's new posts. The student may order the outputs differently, so the shapes are
    # checked by name.
    ModelCheck("ex3_test", call="trained_profile_model", same_shapes=False, held_out=new_and_test_posts,
               threshold=0.75, metric=functools.partial(worst_metric, metric=gender_accuracy),
               metric_name="gender accuracy (worse of posts_test and new posts)", verify=profile_rules),
    # Exercise 4 exports the model the test cell trained: the department accuracy is the measured
    # metric and the priority MAE is checked by priority_mae_below, both on tickets_test and on the
    # hidden test's new tickets.
    ModelCheck("ex4_test", call="trained_ticket_model", same_parameters=False, same_shapes=False,
               held_out=new_and_test_tickets, threshold=0.80,
               metric=functools.partial(worst_metric, metric=department_accuracy),
               metric_name="department accuracy (worse of tickets_test and new tickets)",
               verify=priority_mae_below),
    ModelCheck("ex5_test", call="build_siamese_model(pair_vectorizer, 5, 7)", verify=siamese_rules),
    # Exercise 6 wraps the block in a model on a non-square input, as the hidden test does.
    ModelCheck("ex6_test", call="keras.Model((block_input := keras.Input((7, 9, 5))), inception_block(block_input, 4))",
               verify=inception_rules),
    FunctionCheck("ex7_test", inputs=merge_cases, verify=same_shapes_by_key,
                  calls=[f"predict_merge_shapes(int(cases[{row}, 0]), int(cases[{row}, 1]))" for row in range(4)]),
]
