"""Tests for course_utils.synthetic: generated text data sets with real, but imperfect, signal."""

import numpy as np
import pytest
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression

from course_utils import synthetic


@pytest.fixture(scope="module")
def tickets():
    return synthetic.make_support_tickets(2000, seed=0), synthetic.make_support_tickets(600, seed=1)


@pytest.fixture(scope="module")
def sentence_pairs():
    return synthetic.make_sentence_pairs(1500, seed=0)


@pytest.fixture(scope="module")
def question_passages():
    return synthetic.make_question_passages(1500, seed=0)


def _arrays(data):
    """All the arrays of a data set, inputs and targets (or labels), by name."""
    arrays = dict(data.inputs)
    arrays.update(getattr(data, "targets", {}))
    if hasattr(data, "labels"):
        arrays["labels"] = data.labels
    return arrays


def _same(first, second):
    """True when two data sets hold exactly the same arrays."""
    first_arrays, second_arrays = _arrays(first), _arrays(second)
    return first_arrays.keys() == second_arrays.keys() and all(
        np.array_equal(first_arrays[key], second_arrays[key]) for key in first_arrays)


# ------------------------------------------------------------------------------------------------
# Support tickets


def test_tickets_have_named_inputs_and_targets_with_the_right_shapes_and_dtypes(tickets):
    train, _ = tickets
    assert len(train) == 2000
    assert set(train.inputs) == {"title", "body", "tags"}
    assert set(train.targets) == {"priority", "department"}
    for name in ("title", "body"):
        assert train.inputs[name].shape == (2000,)
        assert train.inputs[name].dtype == object
        assert all(isinstance(text, str) and text for text in train.inputs[name])
    assert train.inputs["tags"].shape == (2000, len(train.tag_names))
    assert train.inputs["tags"].dtype == np.float32
    assert set(np.unique(train.inputs["tags"])) <= {0.0, 1.0}
    assert train.targets["priority"].shape == (2000,)
    assert train.targets["priority"].dtype == np.float32
    assert 0.0 <= train.targets["priority"].min() and train.targets["priority"].max() <= 1.0
    assert train.targets["department"].dtype == np.int64
    assert set(np.unique(train.targets["department"])) == set(range(len(train.department_names)))
    assert train.department_names == ["billing", "technical", "shipping", "account"]


def test_tickets_are_deterministic_per_seed_and_differ_between_seeds():
    assert _same(synthetic.make_support_tickets(50, seed=3), synthetic.make_support_tickets(50, seed=3))
    assert not _same(synthetic.make_support_tickets(50, seed=3), synthetic.make_support_tickets(50, seed=4))


def test_the_department_depends_on_the_words_but_not_perfectly(tickets):
    train, test = tickets

    def texts(data):
        return data.inputs["title"] + " " + data.inputs["body"]

    vectorizer = CountVectorizer()
    classifier = LogisticRegression(max_iter=2000)
    classifier.fit(vectorizer.fit_transform(texts(train)), train.targets["department"])
    accuracy = classifier.score(vectorizer.transform(texts(test)), test.targets["department"])
    assert 0.75 < accuracy < 0.97, f"bag-of-words accuracy {accuracy:.3f}: chance is 0.25"


def test_the_priority_depends_on_the_tags(tickets):
    train, _ = tickets
    tags, priority = train.inputs["tags"], train.targets["priority"]
    urgent = train.tag_names.index("urgent")
    feedback = train.tag_names.index("feedback")
    assert np.corrcoef(tags[:, urgent], priority)[0, 1] > 0.4
    assert np.corrcoef(tags[:, feedback], priority)[0, 1] < -0.15
    # A linear fit of the priority's logit on the tags explains most of the variance, not all of it.
    logits = np.log(priority / (1 - priority))
    design = np.column_stack([np.ones(len(tags)), tags])
    coefficients, *_ = np.linalg.lstsq(design, logits, rcond=None)
    residual = logits - design @ coefficients
    explained = 1 - residual.var() / logits.var()
    assert 0.8 < explained < 0.999


def test_tickets_reject_an_empty_request():
    with pytest.raises(ValueError, match="num_tickets"):
        synthetic.make_support_tickets(0)


def test_describe_is_one_line_that_names_the_targets(tickets):
    text = tickets[0].describe()
    assert "\n" not in text
    assert "2,000" in text and "priority" in text and "billing" in text


# ------------------------------------------------------------------------------------------------
# Sentence pairs


def test_sentence_pairs_shapes_dtypes_and_labels(sentence_pairs):
    assert len(sentence_pairs) == 1500
    assert set(sentence_pairs.inputs) == {"left", "right"}
    for texts in sentence_pairs.inputs.values():
        assert texts.shape == (1500,) and texts.dtype == object
    assert sentence_pairs.labels.dtype == np.int64
    assert set(np.unique(sentence_pairs.labels)) == {0, 1}
    assert 0.4 < sentence_pairs.labels.mean() < 0.6
    assert set(sentence_pairs.kinds) == {"same topic", "different topic"}
    assert "\n" not in sentence_pairs.describe()


def test_sentence_pairs_are_deterministic_per_seed_and_differ_between_seeds():
    assert _same(synthetic.make_sentence_pairs(40, seed=1), synthetic.make_sentence_pairs(40, seed=1))
    assert not _same(synthetic.make_sentence_pairs(40, seed=1), synthetic.make_sentence_pairs(40, seed=2))


def test_sharing_a_topic_word_predicts_the_label_above_chance_but_not_perfectly(sentence_pairs):
    topic_words = {word for words in synthetic.TOPIC_WORDS.values() for word in words}
    shares = np.array([bool(set(left.split()) & set(right.split()) & topic_words)
                       for left, right in zip(sentence_pairs.inputs["left"], sentence_pairs.inputs["right"])])
    accuracy = np.mean(shares == sentence_pairs.labels)
    assert 0.6 < accuracy < 0.9, f"overlap accuracy {accuracy:.3f}"


def test_knowing_the_topics_of_the_words_predicts_the_label_well(sentence_pairs):
    """The signal a model can learn: the majority topic of each sentence decides the label."""
    word_topic = {word: topic for topic, words in synthetic.TOPIC_WORDS.items() for word in words}

    def topic(sentence):
        topics = [word_topic[word] for word in sentence.split() if word in word_topic]
        return max(set(topics), key=topics.count)

    predicted = np.array([topic(left) == topic(right)
                          for left, right in zip(sentence_pairs.inputs["left"], sentence_pairs.inputs["right"])])
    assert np.mean(predicted == sentence_pairs.labels) > 0.88


# ------------------------------------------------------------------------------------------------
# Question/passage pairs


def test_question_passages_shapes_dtypes_and_kinds(question_passages):
    assert len(question_passages) == 1500
    assert set(question_passages.inputs) == {"question", "passage"}
    for texts in question_passages.inputs.values():
        assert texts.shape == (1500,) and texts.dtype == object
    assert question_passages.labels.dtype == np.int64
    assert set(np.unique(question_passages.labels)) == {0, 1}
    assert set(question_passages.kinds) == {"answer", "wrong type", "wrong place"}
    # Labels follow the kinds, apart from the few flipped on purpose.
    agreement = np.mean(question_passages.labels == (question_passages.kinds == "answer"))
    assert 0.94 < agreement < 1.0


def test_question_passages_are_deterministic_per_seed_and_differ_between_seeds():
    assert _same(synthetic.make_question_passages(40, seed=5), synthetic.make_question_passages(40, seed=5))
    assert not _same(synthetic.make_question_passages(40, seed=5), synthetic.make_question_passages(40, seed=6))


def test_the_place_alone_is_above_chance_but_does_not_decide(question_passages):
    same_place = np.array([
        any(place in question.split() and place in passage.split() for place in synthetic.SUBJECTS)
        for question, passage in zip(question_passages.inputs["question"], question_passages.inputs["passage"])
    ])
    accuracy = np.mean(same_place == question_passages.labels)
    assert 0.65 < accuracy < 0.85, f"same-place accuracy {accuracy:.3f}"


def test_a_bag_of_words_of_both_texts_is_near_chance_so_the_pair_matters(question_passages):
    train = synthetic.make_question_passages(1500, seed=1)

    def texts(data):
        return data.inputs["question"] + " | " + data.inputs["passage"]

    vectorizer = CountVectorizer()
    classifier = LogisticRegression(max_iter=2000).fit(vectorizer.fit_transform(texts(train)), train.labels)
    assert classifier.score(vectorizer.transform(texts(question_passages)), question_passages.labels) < 0.62


def test_pair_generators_reject_an_empty_request():
    with pytest.raises(ValueError, match="num_pairs"):
        synthetic.make_sentence_pairs(0)
    with pytest.raises(ValueError, match="num_pairs"):
        synthetic.make_question_passages(0)


# ------------------------------------------------------------------------------------------------
# Posts with three author attributes


@pytest.fixture(scope="module")
def posts():
    return synthetic.make_author_posts(2000, seed=0), synthetic.make_author_posts(600, seed=1)


def test_posts_have_one_input_and_three_targets_with_the_right_shapes_and_dtypes(posts):
    train, _ = posts
    assert len(train) == 2000
    assert set(train.inputs) == {"post"}
    assert set(train.targets) == {"age", "income", "gender"}
    assert train.inputs["post"].shape == (2000,) and train.inputs["post"].dtype == object
    assert all(isinstance(text, str) and text for text in train.inputs["post"])
    assert train.targets["age"].dtype == np.float32
    assert 18.0 <= train.targets["age"].min() and train.targets["age"].max() <= 70.0
    assert train.targets["income"].dtype == np.int64
    assert set(np.unique(train.targets["income"])) == {0, 1, 2}
    assert train.targets["gender"].dtype == np.float32
    assert set(np.unique(train.targets["gender"])) == {0.0, 1.0}
    assert train.income_names == ["low", "middle", "high"] and train.gender_names == ["man", "woman"]


def test_posts_are_deterministic_per_seed_and_differ_between_seeds():
    assert _same(synthetic.make_author_posts(50, seed=3), synthetic.make_author_posts(50, seed=3))
    assert not _same(synthetic.make_author_posts(50, seed=3), synthetic.make_author_posts(50, seed=4))


def _bag_of_words(train, test):
    vectorizer = CountVectorizer()
    return vectorizer.fit_transform(train.inputs["post"]), vectorizer.transform(test.inputs["post"])


def test_the_words_predict_income_and_gender_well_but_not_perfectly(posts):
    train, test = posts
    train_words, test_words = _bag_of_words(train, test)
    for target, chance, low, high in [("income", 0.45, 0.75, 0.97), ("gender", 0.55, 0.78, 0.95)]:
        labels = train.targets[target].astype(int)
        accuracy = LogisticRegression(max_iter=2000).fit(train_words, labels).score(
            test_words, test.targets[target].astype(int))
        majority = np.mean(test.targets[target].astype(int) == np.bincount(labels).argmax())
        assert majority < chance and low < accuracy < high, f"{target}: accuracy {accuracy:.3f}, majority {majority:.3f}"


def test_the_words_predict_the_age_within_several_years(posts):
    train, test = posts
    train_words, test_words = _bag_of_words(train, test)
    design = np.column_stack([np.ones(train_words.shape[0]), train_words.toarray()])
    coefficients, *_ = np.linalg.lstsq(design, train.targets["age"], rcond=None)
    predicted = np.column_stack([np.ones(test_words.shape[0]), test_words.toarray()]) @ coefficients
    mae = np.mean(np.abs(predicted - test.targets["age"]))
    baseline = np.mean(np.abs(test.targets["age"] - train.targets["age"].mean()))
    assert baseline > 11 and 3 < mae < 0.6 * baseline, f"linear MAE {mae:.2f}, mean guess {baseline:.2f}"


def test_the_gender_signal_is_only_a_self_description(posts):
    train, _ = posts
    gender_words = {word for words in synthetic.GENDER_WORDS.values() for word in words}
    topic_words = {word for groups in (synthetic.LIFE_STAGE_WORDS, synthetic.INCOME_WORDS)
                   for words in groups.values() for word in words}
    assert not gender_words & topic_words
    described = np.array([bool(set(post.rstrip(".").replace(".", " ").split()) & gender_words)
                          for post in train.inputs["post"]])
    assert 0.6 < described.mean() < 0.8


def test_posts_reject_an_empty_request_and_describe_in_one_line(posts):
    with pytest.raises(ValueError, match="num_posts"):
        synthetic.make_author_posts(0)
    text = posts[0].describe()
    assert "\n" not in text and "2,000" in text and "age" in text and "income" in text and "gender" in text
