"""Trusted checks of chapter 4: model structure, a custom layer, a fixed compile call, a tf.data pipeline, a
Fashion-MNIST classifier on a parameter budget and a subclassed wide and deep model that survives saving."""

import functools

import numpy as np

from grader.checks import FunctionCheck, ModelCheck
from grader.checks.compare import compare
from grader.checks.library import fashion_test_images, gated, parameter_budget, same_layers

#: Exercise 5: the most parameters the budget classifier may have, the accuracy it must reach on the
#: grader's half of the Fashion-MNIST test set after the notebook's 3 epochs on 10,000 raw images, and
#: the number of epochs and the batch size of that training (its optimizer must have made exactly
#: that many steps). Measured with the reference answer (Dense(24), Adam 3e-3) over seeds 5, 0, 1, 2:
#: 0.81 to 0.83 on the grader's half, so the threshold holds by more than 2 points.
BUDGET_MAX_PARAMS = 20_000
BUDGET_MIN_ACCURACY = 0.78
BUDGET_EPOCHS, BUDGET_BATCH_SIZE = 3, 64

#: The number of examples of exercise 4's large shuffled pipeline: more than the fixed shuffle
#: buffers that tutorials use (1,000, 1,024 or 10,000), so that such a buffer shows.
LARGE_PIPELINE = 20_000


#: Exercise 5's held-out data: the second half of the Fashion-MNIST test set, raw uint8 images, and labels.
#: The notebook's tests measure the first half; this half is never used in the notebook.
fashion_grader_half = functools.partial(fashion_test_images, "second half", scale=False)


def compare_items(results, expected, rtol=1e-4, atol=1e-5):
    """Compare every result with the reference's, dtypes included, key by key for dict results.

    Parameters
    ----------
    results, expected : list
        The decoded exports of the student and of the solution.
    rtol, atol : float
        Tolerances for floating-point values.
    """
    for index, (value, wanted) in enumerate(zip(results, expected)):
        if isinstance(wanted, dict) and not isinstance(value, dict):
            return f"the result of call {index + 1} is not a dict"
        for key, wanted_item in (wanted.items() if isinstance(wanted, dict) else [("result", wanted)]):
            item = value.get(key) if isinstance(value, dict) else value
            where = f"{key} (call {index + 1})"
            if key.endswith("_std"):
                if not isinstance(item, float) or not 2.0 < item < 4.0:
                    return f"{where} is {item}, expected about 3: build the kernel with the layer's kernel_initializer"
                continue
            problem = compare(item, wanted_item, rtol, atol, where, dtypes=True)
            if problem:
                return problem
    return None


def pipeline_behaves(results, expected):
    """Check exercise 4: ordered batches match the reference, shuffled passes are full, fresh permutations.

    Parameters
    ----------
    results, expected : list
        Three exports: the ordered pipeline, two passes and the batches of a shuffled pipeline of
        100 examples, and the first batch of a shuffled pipeline of ``LARGE_PIPELINE`` examples.

    Notes
    -----
    A buffer that holds the whole data set makes the first batch a uniform sample of it: with
    20,000 examples and batches of 100, its mean index is about 10,000 with a standard deviation
    of about 577 (the mean of 100 draws without replacement), so the threshold of 7,000 lies over
    5 standard deviations below and rejects a correct answer with a probability of about 1e-7.
    A fixed buffer of 1,000 or 1,024 examples gives a mean of about 500, one of 10,000 about 5,000.
    """
    ordered, shuffled, large = results
    problem = compare_items([ordered], expected[:1], rtol=1e-6, atol=1e-7)
    if problem:
        return f"with training=False: {problem}"
    first, second = (np.asarray(labels) for labels in shuffled["passes"])
    if sorted(first.tolist()) != list(range(100)) or sorted(second.tolist()) != list(range(100)):
        return "with training=True, one pass over 100 examples does not hold every example exactly once"
    if np.array_equal(first, np.arange(100)):
        return "with training=True the examples should be shuffled"
    if np.array_equal(first, second):
        return "with training=True each pass over the dataset should use a new order (keep reshuffle_each_iteration on)"
    if all(np.all(np.diff(np.sort(np.asarray(batch))) == 1) for batch in shuffled["batches"]):
        return "every shuffled batch holds consecutive examples: shuffle the examples before batching, not the batches"
    first_batch = np.asarray(large)
    if first_batch.shape != (100,) or not first_batch.mean() > 0.35 * LARGE_PIPELINE:
        return (f"the first batch of {LARGE_PIPELINE:,} shuffled examples has a mean index of {first_batch.mean():.0f} "
                f"instead of about {LARGE_PIPELINE // 2:,}: give shuffle a buffer as large as the data set "
                "(len(images)), not a fixed size such as 1,000 or 10,000")
    return None


def maxout_problem(rng):
    """Draw a maxout layer's sizes (all different, so that mixed-up axes show), weights and inputs."""
    units, pieces, num_inputs = (int(n) for n in rng.permutation([2, 3, 4, 5, 6])[:3])
    return {
        "units": np.array(units), "pieces": np.array(pieces), "num_inputs": np.array(num_inputs),
        "kernel": rng.normal(size=(num_inputs, units, pieces)).astype(np.float32),
        "bias": rng.normal(size=(units, pieces)).astype(np.float32),
        "dense_kernel": rng.normal(size=(units, 1)).astype(np.float32),
        "x": rng.normal(size=(int(rng.integers(3, 10)), num_inputs)).astype(np.float32),
        "seed": np.array(int(rng.integers(0, 1000))),
    }


def logits_problem(rng):
    """Draw a 5-class logits classifier's weights, a learning rate, and large-logit data with integer labels."""
    return {
        "kernel": rng.normal(size=(4, 5)).astype(np.float32), "bias": rng.normal(size=5).astype(np.float32),
        "x": rng.normal(scale=3.0, size=(60, 4)).astype(np.float32),
        "y": rng.integers(0, 5, size=60).astype(np.int64),
        "learning_rate": np.array(rng.choice([0.003, 0.01, 0.02, 0.05])),
    }


def wide_and_deep_problem(rng):
    """Draw input sizes and hidden units (all different, so that a mixed-up input shows), weights and inputs."""
    num_wide, num_deep, units_1, units_2, units_3 = (int(n) for n in rng.permutation(np.arange(2, 14))[:5])
    num_examples = int(rng.integers(3, 9))
    return {
        "num_wide": np.array(num_wide), "num_deep": np.array(num_deep),
        "units_1": np.array(units_1), "units_2": np.array(units_2), "units_3": np.array(units_3),
        "hidden_kernel_1": rng.normal(size=(num_deep, units_1)).astype(np.float32),
        "hidden_bias_1": rng.normal(size=units_1).astype(np.float32),
        "hidden_kernel_2": rng.normal(size=(units_1, units_2)).astype(np.float32),
        "hidden_bias_2": rng.normal(size=units_2).astype(np.float32),
        "main_kernel": rng.normal(size=(num_wide + units_2, 1)).astype(np.float32),
        "main_bias": rng.normal(size=1).astype(np.float32),
        "aux_kernel": rng.normal(size=(units_2, 1)).astype(np.float32),
        "aux_bias": rng.normal(size=1).astype(np.float32),
        "wide_x": rng.normal(size=(num_examples, num_wide)).astype(np.float32),
        "deep_x": rng.normal(size=(num_examples, num_deep)).astype(np.float32),
    }


def pipeline_problem(rng):
    """Draw uint8 images, integer labels and a batch size that does not divide the number of images."""
    num_images, batch_size = int(rng.integers(7, 20)), int(rng.integers(2, 6))
    if num_images % batch_size == 0:
        num_images += 1
    return {
        "images": rng.integers(0, 256, size=(num_images, int(rng.integers(1, 4)), int(rng.integers(1, 4)))).astype(np.uint8),
        "labels": rng.integers(0, 10, size=num_images), "batch_size": np.array(batch_size),
    }


MAXOUT_CALLS = [
    # The layer's name, weights, parameters and outputs for weights drawn by the grader.
    "{'name': (layer := MaxoutDense(int(units), num_pieces=int(pieces), name='maxout')).name, "
    "'build': layer.build((None, int(num_inputs))), "
    "'weight_shapes': list(map(lambda weight: list(weight.shape), layer.trainable_weights)), "
    "'num_params': layer.count_params(), 'bias_after_build': np.array(layer.bias.numpy()), "
    "'config': [layer.get_config().get('units'), layer.get_config().get('num_pieces')], "
    "'outputs': (layer.kernel.assign(kernel), layer.bias.assign(bias), layer(x))[-1]}",
    # The default number of pieces.
    "{'build': (layer := MaxoutDense(int(units))).build((None, int(num_inputs))), "
    "'num_params': layer.count_params(), 'config': layer.get_config().get('num_pieces')}",
    # The kernel initializer, in build() and through get_config() and from_config().
    "{'build': (wide := MaxoutDense(4, num_pieces=3, kernel_initializer=keras.initializers.RandomNormal("
    "mean=0.0, stddev=3.0, seed=int(seed)), name='wide_maxout')).build((None, 20)), "
    "'kernel_std': float(np.std(wide.kernel.numpy())), "
    "'clone_name': (clone := MaxoutDense.from_config(wide.get_config())).name, "
    "'clone_settings': [clone.units, clone.num_pieces], "
    "'config_round_trip': clone.get_config() == wide.get_config(), "
    "'clone_build': clone.build((None, 20)), 'clone_kernel_std': float(np.std(clone.kernel.numpy()))}",
    # A model holding the layer, saved to a .keras file and loaded back. The layer's output size is
    # checked before the grader's weights are set: with a maximum over the wrong axis, the Dense
    # kernel's shape would not fit, and the whole export would fail with Keras's shape error instead.
    "{'num_params': (model := keras.Sequential([keras.Input(shape=(int(num_inputs),)), "
    "MaxoutDense(int(units), num_pieces=int(pieces)), layers.Dense(1)])).count_params(), "
    "'output_units': " + gated("model.layers[0].output.shape[-1]", "model.layers[0].output.shape[-1] == int(units)",
                               "MaxoutDense(units, num_pieces) should output (batch, units): take the maximum over "
                               "the pieces, the last axis of the (batch, units, num_pieces) values") + ", "
    "'set': model.set_weights([kernel, bias, dense_kernel, np.zeros(1, dtype='float32')]), "
    "'save': model.save(working_dir / 'grader_maxout.keras'), "
    "'loaded_class': type((loaded := keras.models.load_model(working_dir / 'grader_maxout.keras')).layers[0]).__name__, "
    "'loaded_settings': [loaded.layers[0].units, loaded.layers[0].num_pieces], "
    "'loaded_predictions': loaded.predict(x, verbose=0)}",
]

# A small 5-class logits classifier with the grader's weights, compiled by the answer: its optimizer,
# its loss and metrics (by name) on integer labels, and its weights after one full-batch training step.
LOGITS_CALL = (
    "{'type': type(model := compile_fixed(keras.Sequential([keras.Input(shape=(4,)), layers.Dense(5)]), "
    "float(learning_rate))).__name__, "
    "'set': model.set_weights([kernel, bias]), 'optimizer': type(model.optimizer).__name__, "
    "'learning_rate': float(np.asarray(model.optimizer.learning_rate)), "
    "'evaluate': model.evaluate(x, y, batch_size=len(x), verbose=0, return_dict=True), "
    "'history': model.fit(x, y, batch_size=len(x), epochs=1, verbose=0).history, "
    "'weights_after_one_step': model.get_weights()}"
)

PIPELINE_CALLS = [
    # The ordered pipeline: its type, its element_spec and every batch.
    "(lambda dataset: {'type': isinstance(dataset, tf.data.Dataset), "
    "'image_dtype': dataset.element_spec[0].dtype.name, 'image_shape': list(dataset.element_spec[0].shape), "
    "'batches': list(map(lambda batch: [batch[0].numpy(), batch[1].numpy()], dataset))})"
    "(make_dataset(images, labels, batch_size=int(batch_size), training=False))",
    # A shuffled pipeline of 100 examples: two passes, then the batches of a third.
    "(lambda dataset: {'passes': [np.concatenate(list(map(lambda batch: batch[1].numpy(), dataset))) for _ in range(2)], "
    "'batches': list(map(lambda batch: batch[1].numpy(), dataset))})"
    "(make_dataset(np.zeros((100, 2, 2), dtype='uint8'), np.arange(100), batch_size=10, training=True))",
    # The first batch of a shuffled pipeline of LARGE_PIPELINE examples (does the buffer hold them all?).
    f"next(iter(make_dataset(np.zeros(({LARGE_PIPELINE}, 1, 1), dtype='uint8'), np.arange({LARGE_PIPELINE}), "
    "batch_size=100, training=True)))[1].numpy()",
]

WIDE_AND_DEEP_CALLS = [
    # The model built with the hidden units by position and a name, its parameters, its outputs with the
    # grader's weights, and the same after saving to a .keras file and loading back in safe mode.
    "{'num_params': ((model := TwoInputWideAndDeep([int(units_1), int(units_2)], name='grader_wide_and_deep'))"
    "((wide_x, deep_x)), model.count_params())[-1], "
    "'name': model.name, 'num_hidden_layers': len(model.hidden_layers), "
    "'set': [layer.set_weights([layer_kernel, layer_bias]) for layer, layer_kernel, layer_bias in "
    "zip(model.hidden_layers, [hidden_kernel_1, hidden_kernel_2], [hidden_bias_1, hidden_bias_2])], "
    "'set_main': model.main_output.set_weights([main_kernel, main_bias]), "
    "'set_aux': model.aux_output.set_weights([aux_kernel, aux_bias]), "
    "'outputs': [np.asarray(output) for output in model((wide_x, deep_x))], "
    "'save': model.save(working_dir / 'grader_wide_and_deep.keras'), "
    "'loaded_class': type(loaded := keras.models.load_model(working_dir / 'grader_wide_and_deep.keras')).__name__, "
    "'loaded_outputs': [np.asarray(output) for output in loaded.predict((wide_x, deep_x), verbose=0)]}",
    # One and three hidden layers: the parameter counts.
    "[((one := TwoInputWideAndDeep([int(units_3)]))((wide_x, deep_x)), one.count_params())[-1], "
    "((three := TwoInputWideAndDeep([int(units_3), int(units_1), int(units_2)]))((wide_x, deep_x)), "
    "three.count_params())[-1]]",
]

CHECKS = [
    ModelCheck("ex1_test", call=gated("model", "not (model := build_wide_and_deep(13, 3)).compiled",
                                      "build_wide_and_deep should return a model that is not compiled"),
               verify=functools.partial(same_layers, attributes=("output_shape", "parameters", "activation"))),
    # The custom layer's class exists only in the notebook, so the verifier cannot load a model
    # holding it (safe mode): the layer is checked through its behaviour instead.
    FunctionCheck("ex2_test", calls=MAXOUT_CALLS, inputs=maxout_problem,
                  verify=lambda results, expected: compare_items(results, expected, rtol=1e-3, atol=5e-3)),
    # Compile settings are not kept by a saved model that the verifier loads, so the compiled model
    # is checked through what it computes: its loss, its metrics by name and one training step.
    FunctionCheck("ex3_test", calls=[LOGITS_CALL], inputs=logits_problem, verify=compare_items),
    FunctionCheck("ex4_test", calls=PIPELINE_CALLS, inputs=pipeline_problem, verify=pipeline_behaves),
    # Exercise 5 exports the model that the test cell trained (`budget_model`), after checking that its
    # optimizer made exactly the steps of that training (a model trained longer inside the answer fails);
    # a model over the budget, which the test cell does not train, goes to the verifier for its message.
    # The verifier loads it in safe mode, so a Lambda layer fails here, as section 8 explains.
    ModelCheck("ex5_test", call=gated(
        "budget_model",
        f"budget_model.count_params() > {BUDGET_MAX_PARAMS} or int(budget_model.optimizer.iterations.numpy()) == "
        f"{BUDGET_EPOCHS} * int(np.ceil(len(budget_images) / {BUDGET_BATCH_SIZE}))",
        "the budget classifier should be trained only by the test cell: 3 epochs of the 10,000 images in "
        "batches of 64"),
        same_parameters=False, held_out=fashion_grader_half, threshold=BUDGET_MIN_ACCURACY,
        verify=functools.partial(parameter_budget, max_parameters=BUDGET_MAX_PARAMS)),
    # The subclassed model exists only in the notebook, so the verifier cannot load it: its parameter
    # counts, outputs with the grader's weights and outputs after a save and load are compared instead.
    FunctionCheck("ex6_test", calls=WIDE_AND_DEEP_CALLS, inputs=wide_and_deep_problem,
                  verify=lambda results, expected: compare_items(results, expected, rtol=1e-4, atol=1e-4)),
]
