"""Generated text data sets with real signal, for the chapter on the functional API.

Each generator builds short English-like texts from word lists and templates, with a known rule
linking inputs to targets, then blurs the rule with ambiguous examples and a little label noise, so
that a good model scores well but not perfectly. Everything is deterministic given a seed, uses only
NumPy, and prints nothing: the notebooks print the one-line ``describe()`` of each data set.

Texts are NumPy arrays of ``dtype=object`` holding Python strings. Keras's ``fit`` and ``predict``
accept such arrays for ``keras.Input(shape=(), dtype="string")``; they reject NumPy's fixed-width
unicode arrays (``dtype='<U...'``).

- :func:`make_support_tickets`: title, body and tags of support tickets, with a priority score that
  depends on the tags and a department that depends on the words of the title and body.
- :func:`make_sentence_pairs`: pairs of sentences labelled 1 when they are about the same topic.
- :func:`make_question_passages`: question/passage pairs labelled 1 when the passage answers the
  question.
- :func:`make_author_posts`: short posts whose words carry signal about three targets of their
  author: the age (a regression target), the income bracket (three classes) and the gender (binary).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# ----------------------------------------------------------------------------------------------
# Support tickets
# ----------------------------------------------------------------------------------------------

#: The departments a ticket can be routed to, in label order.
DEPARTMENT_NAMES = ["billing", "technical", "shipping", "account"]

#: Words that point to each department. Some words belong to two departments on purpose.
DEPARTMENT_WORDS = {
    "billing": ["invoice", "refund", "charge", "payment", "receipt", "price", "subscription",
                "discount", "bill", "tax", "card", "order", "return"],
    "technical": ["error", "crash", "bug", "update", "install", "server", "screen", "connection",
                  "sync", "freeze", "app", "login"],
    "shipping": ["package", "delivery", "courier", "parcel", "tracking", "shipment", "box",
                 "warehouse", "address", "return", "order"],
    "account": ["password", "profile", "email", "username", "settings", "verification", "signup",
                "avatar", "nickname", "login", "card", "address", "app"],
}

#: The tags a ticket can carry (several at once), in column order of the ``tags`` input.
TAG_NAMES = ["urgent", "outage", "vip", "security", "bug", "question", "feedback", "follow-up"]

#: How strongly each tag raises (or lowers) the priority, on the logit scale.
TAG_PRIORITY_EFFECTS = np.array([1.8, 1.5, 0.9, 1.3, 0.6, -1.0, -1.2, 0.4])

_TAG_BASE_RATES = np.array([0.20, 0.06, 0.15, 0.06, 0.06, 0.25, 0.12, 0.15])
# Rates that replace the base rate for one department: bugs and outages are mostly technical,
# security issues mostly about accounts.
_TAG_DEPARTMENT_RATES = {("technical", "bug"): 0.45, ("technical", "outage"): 0.25,
                         ("account", "security"): 0.35}

_TITLE_TEMPLATES = [
    "{0} problem", "problem with my {0}", "question about {0}", "{0} not working",
    "help with {0} and {1}", "{0} {1} issue", "cannot get my {0}", "wrong {0}", "{0} again",
    "my {0} and the {1}",
]
_BODY_TEMPLATES = [
    "hello i have a problem with my {0}", "the {0} is wrong", "my {0} and {1} are not working",
    "i tried the {0} again but nothing changed", "please check the {0}",
    "since yesterday the {0} shows a message", "can you look at my {0} please",
    "is there any news about the {0}", "the {0} stopped after the {1}",
]
_BODY_FILLERS = [
    "thanks for your help", "i need this fixed soon", "it worked last week",
    "this is the second time i write", "i am waiting for an answer", "have a nice day",
    "my colleague has the same issue",
]


@dataclass
class TicketData:
    """Support tickets as named inputs and named targets, ready for a functional model.

    Attributes
    ----------
    inputs : dict of str to numpy.ndarray
        ``"title"`` and ``"body"``: shape ``(n,)``, dtype object (Python strings);
        ``"tags"``: shape ``(n, len(tag_names))``, float32 multi-hot rows.
    targets : dict of str to numpy.ndarray
        ``"priority"``: shape ``(n,)``, float32 in [0, 1]; ``"department"``: shape ``(n,)``, int64
        labels that index ``department_names``.
    tag_names, department_names : list of str
        The meaning of each tag column and of each department label.
    """

    inputs: dict[str, np.ndarray]
    targets: dict[str, np.ndarray]
    tag_names: list[str] = field(default_factory=lambda: list(TAG_NAMES))
    department_names: list[str] = field(default_factory=lambda: list(DEPARTMENT_NAMES))

    def __len__(self) -> int:
        return len(self.targets["department"])

    def describe(self) -> str:
        """Return a one-line summary: size, inputs, targets and classes."""
        shares = np.bincount(self.targets["department"], minlength=len(self.department_names)) / len(self)
        departments = ", ".join(f"{name} {share:.0%}" for name, share in zip(self.department_names, shares))
        return (f"{len(self):,} generated support tickets | inputs: title, body (text), tags "
                f"({len(self.tag_names)} multi-hot) | targets: priority (0-1, from the tags), "
                f"department ({departments})")


def _keywords(rng: np.random.Generator, department: int, count: int, own_share: float) -> list[str]:
    """Draw ``count`` keywords: from the ticket's department with probability ``own_share``."""
    num_departments = len(DEPARTMENT_NAMES)
    words = []
    for _ in range(count):
        source = department
        if rng.random() >= own_share:
            source = (department + int(rng.integers(1, num_departments))) % num_departments
        candidates = DEPARTMENT_WORDS[DEPARTMENT_NAMES[source]]
        words.append(candidates[rng.integers(len(candidates))])
    return words


def make_support_tickets(num_tickets: int = 4000, seed: int = 0, ambiguous_share: float = 0.15,
                         label_noise: float = 0.04, priority_noise: float = 0.3) -> TicketData:
    """Generate support tickets whose department depends on their words and priority on their tags.

    Each ticket belongs to one of four departments. Its title holds one or two keywords and its body
    two to five sentences, most with keywords. In a clear ticket each keyword comes from the
    department's word list with probability 0.9 (otherwise from another department's list); in an
    ambiguous ticket only with probability 0.45. Some words belong to two departments. A share of
    the labels is then replaced by a random department. The tags are drawn independently per
    ticket (a few depend on the department), and the priority is
    ``sigmoid(-0.8 + tags @ TAG_PRIORITY_EFFECTS + noise)``.

    Parameters
    ----------
    num_tickets : int
        How many tickets to generate.
    seed : int
        Seed of the random generator: the same seed gives the same tickets.
    ambiguous_share : float
        Share of ambiguous tickets, whose words often point to other departments.
    label_noise : float
        Share of tickets whose department label is replaced by a random one.
    priority_noise : float
        Standard deviation of the noise added to the priority's logit.

    Returns
    -------
    TicketData
        Inputs ``title``, ``body``, ``tags`` and targets ``priority``, ``department``.
    """
    if num_tickets < 1:
        raise ValueError(f"num_tickets must be at least 1, got {num_tickets}")
    rng = np.random.default_rng(seed)
    num_departments = len(DEPARTMENT_NAMES)
    departments = rng.integers(0, num_departments, size=num_tickets)
    ambiguous = rng.random(num_tickets) < ambiguous_share

    titles, bodies = [], []
    for department, is_ambiguous in zip(departments, ambiguous):
        own_share = 0.45 if is_ambiguous else 0.9
        template = _TITLE_TEMPLATES[rng.integers(len(_TITLE_TEMPLATES))]
        titles.append(template.format(*_keywords(rng, department, 2, own_share)))
        sentences = []
        for _ in range(rng.integers(2, 6)):
            if rng.random() < 0.75:
                template = _BODY_TEMPLATES[rng.integers(len(_BODY_TEMPLATES))]
                sentences.append(template.format(*_keywords(rng, department, 2, own_share)))
            else:
                sentences.append(_BODY_FILLERS[rng.integers(len(_BODY_FILLERS))])
        bodies.append(". ".join(sentences) + ".")

    rates = np.tile(_TAG_BASE_RATES, (num_tickets, 1))
    for (department_name, tag_name), rate in _TAG_DEPARTMENT_RATES.items():
        rows = departments == DEPARTMENT_NAMES.index(department_name)
        rates[rows, TAG_NAMES.index(tag_name)] = rate
    tags = (rng.random((num_tickets, len(TAG_NAMES))) < rates).astype("float32")
    logits = -0.8 + tags @ TAG_PRIORITY_EFFECTS + rng.normal(0.0, priority_noise, size=num_tickets)
    priority = (1.0 / (1.0 + np.exp(-logits))).astype("float32")

    labels = departments.copy()
    noisy = rng.random(num_tickets) < label_noise
    labels[noisy] = rng.integers(0, num_departments, size=int(noisy.sum()))

    return TicketData(
        inputs={"title": np.array(titles, dtype=object), "body": np.array(bodies, dtype=object), "tags": tags},
        targets={"priority": priority, "department": labels.astype("int64")},
    )


# ----------------------------------------------------------------------------------------------
# Sentence pairs
# ----------------------------------------------------------------------------------------------

#: Topics of the sentences, each with the words that signal it.
TOPIC_WORDS = {
    "weather": ["rain", "snow", "storm", "sunshine", "clouds", "wind", "forecast", "umbrella"],
    "food": ["pizza", "pasta", "soup", "salad", "bread", "cheese", "dinner", "dessert"],
    "sports": ["football", "tennis", "match", "goal", "team", "coach", "stadium", "referee"],
    "music": ["guitar", "concert", "song", "piano", "band", "album", "drummer", "singer"],
    "travel": ["flight", "hotel", "airport", "passport", "luggage", "beach", "train", "tourist"],
}

_SENTENCE_TEMPLATES = [
    "i liked the {0} {1} and {2}", "{0} and {1} near the {2}", "we saw a {0} {1} and {2}",
    "my {0} {1} and {2} today", "what about the {0} {1} or {2}", "she loves {0} {1} and {2}",
    "{0} then {1} then {2}", "no {0} no {1} no {2}",
]


@dataclass
class PairData:
    """Pairs of texts with a binary label, as named inputs for a two-input model.

    Attributes
    ----------
    inputs : dict of str to numpy.ndarray
        Two text inputs of shape ``(n,)``, dtype object: ``"left"`` and ``"right"`` for sentence
        pairs, ``"question"`` and ``"passage"`` for question/passage pairs.
    labels : numpy.ndarray
        Shape ``(n,)``, int64 in {0, 1}.
    kinds : numpy.ndarray
        Shape ``(n,)``, dtype object: how each pair was made, before label noise (for example
        ``"same topic"`` or ``"different topic"``).
    description : str
        What the data set is, in words.
    """

    inputs: dict[str, np.ndarray]
    labels: np.ndarray
    kinds: np.ndarray
    description: str = ""

    def __len__(self) -> int:
        return len(self.labels)

    def describe(self) -> str:
        """Return a one-line summary: size, inputs, share of positive labels and kinds of pairs."""
        names, counts = np.unique(self.kinds, return_counts=True)
        kinds = ", ".join(f"{name} {count / len(self):.0%}" for name, count in zip(names, counts))
        return (f"{len(self):,} {self.description} | inputs: {', '.join(self.inputs)} | "
                f"label 1: {self.labels.mean():.0%} | {kinds}")


def _sentence(rng: np.random.Generator, topic: int, off_topic_share: float) -> str:
    """One sentence about ``topic``; each topic word comes from another topic with some probability."""
    names = list(TOPIC_WORDS)
    words = []
    for _ in range(3):
        source = topic
        if rng.random() < off_topic_share:
            source = (topic + int(rng.integers(1, len(names)))) % len(names)
        candidates = TOPIC_WORDS[names[source]]
        words.append(candidates[rng.integers(len(candidates))])
    return _SENTENCE_TEMPLATES[rng.integers(len(_SENTENCE_TEMPLATES))].format(*words)


def make_sentence_pairs(num_pairs: int = 3000, seed: int = 0, off_topic_share: float = 0.1,
                        label_noise: float = 0.03) -> PairData:
    """Generate sentence pairs labelled 1 when both sentences are about the same topic.

    Half the pairs take both sentences from one topic, half from two different topics. Each
    sentence fills a template with three topic words drawn independently, so about 40 % of the
    same-topic pairs share no topic word: a model has to learn which words go together. A topic word
    comes from another topic with probability ``off_topic_share``, and a share ``label_noise`` of
    the labels is flipped.

    Parameters
    ----------
    num_pairs : int
        How many pairs to generate.
    seed : int
        Seed of the random generator.
    off_topic_share : float
        Probability that a topic word is taken from another topic.
    label_noise : float
        Share of labels flipped.

    Returns
    -------
    PairData
        Inputs ``left`` and ``right``, labels in {0, 1}, kinds ``"same topic"`` or ``"different topic"``.
    """
    if num_pairs < 1:
        raise ValueError(f"num_pairs must be at least 1, got {num_pairs}")
    rng = np.random.default_rng(seed)
    num_topics = len(TOPIC_WORDS)
    same = rng.random(num_pairs) < 0.5
    left, right = [], []
    for is_same in same:
        first = int(rng.integers(num_topics))
        second = first if is_same else int((first + rng.integers(1, num_topics)) % num_topics)
        left.append(_sentence(rng, first, off_topic_share))
        right.append(_sentence(rng, second, off_topic_share))
    labels = same.astype("int64")
    flipped = rng.random(num_pairs) < label_noise
    labels[flipped] = 1 - labels[flipped]
    kinds = np.where(same, "same topic", "different topic").astype(object)
    return PairData({"left": np.array(left, dtype=object), "right": np.array(right, dtype=object)},
                    labels, kinds, "generated sentence pairs (1 = same topic)")


# ----------------------------------------------------------------------------------------------
# Question/passage pairs
# ----------------------------------------------------------------------------------------------

#: Places that questions and passages are about.
SUBJECTS = ["library", "museum", "pool", "bakery", "clinic", "station", "park", "cinema", "gym", "zoo"]

#: Question types: how a question of each type is asked, and how a passage answers it.
QUESTION_TYPES = {
    "time": {
        "questions": ["when does the {0} open", "what time does the {0} close", "at what hour is the {0} open",
                      "when can i visit the {0}"],
        "answers": ["it opens at nine in the morning", "it closes at six on weekdays",
                    "the opening hours are from eight to five", "it is open until midnight on sunday",
                    "you can come from noon to seven"],
    },
    "place": {
        "questions": ["where is the {0}", "how do i find the {0}", "where can i find the {0}",
                      "in which street is the {0}"],
        "answers": ["it is next to the river", "you will find it on main street",
                    "it is behind the old church", "it stands on the north corner of the square",
                    "it is downtown near the bridge"],
    },
    "price": {
        "questions": ["how much does the {0} cost", "what is the price of the {0}", "is the {0} expensive",
                      "how much is a ticket for the {0}"],
        "answers": ["a ticket costs ten euros", "entry is free for children", "the fee is five dollars",
                    "it is cheap with a student discount", "adults pay twelve euros"],
    },
    "person": {
        "questions": ["who runs the {0}", "who is in charge of the {0}", "who works at the {0}",
                      "who is the boss of the {0}"],
        "answers": ["the manager is anna", "it is run by doctor smith", "mister jones is the director",
                    "the owner is a friendly volunteer", "a team of staff led by maria"],
    },
}

_PASSAGE_FILLERS = [
    "it is very popular with families", "many people visit it every week", "it was renovated last year",
    "the building is quite old", "it has a small garden", "visitors often leave good reviews",
]


def make_question_passages(num_pairs: int = 3000, seed: int = 0, label_noise: float = 0.03) -> PairData:
    """Generate question/passage pairs labelled 1 when the passage answers the question.

    A question asks one of four types of thing (time, place, price, person) about one of ten
    places. A passage names a place, then gives one answer of one type and a filler sentence, in a
    random order. Half the pairs are answers (same place, same type); a quarter are about the same
    place but give the wrong type of answer; a quarter give the right type of answer for another
    place. So neither the place nor the type alone decides: checking the place reaches about 75 %, and
    a model must combine both. A share ``label_noise`` of the labels is flipped.

    Parameters
    ----------
    num_pairs : int
        How many pairs to generate.
    seed : int
        Seed of the random generator.
    label_noise : float
        Share of labels flipped.

    Returns
    -------
    PairData
        Inputs ``question`` and ``passage``, labels in {0, 1}, kinds ``"answer"``,
        ``"wrong type"`` or ``"wrong place"``.
    """
    if num_pairs < 1:
        raise ValueError(f"num_pairs must be at least 1, got {num_pairs}")
    rng = np.random.default_rng(seed)
    type_names = list(QUESTION_TYPES)
    draws = rng.random(num_pairs)
    kinds = np.where(draws < 0.5, "answer", np.where(draws < 0.75, "wrong type", "wrong place")).astype(object)
    questions, passages = [], []
    for kind in kinds:
        subject = int(rng.integers(len(SUBJECTS)))
        question_type = int(rng.integers(len(type_names)))
        passage_subject, passage_type = subject, question_type
        if kind == "wrong type":
            passage_type = int((question_type + rng.integers(1, len(type_names))) % len(type_names))
        elif kind == "wrong place":
            passage_subject = int((subject + rng.integers(1, len(SUBJECTS))) % len(SUBJECTS))
        asked = QUESTION_TYPES[type_names[question_type]]["questions"]
        questions.append(asked[rng.integers(len(asked))].format(SUBJECTS[subject]))
        answers = QUESTION_TYPES[type_names[passage_type]]["answers"]
        parts = [f"the {SUBJECTS[passage_subject]} is in town", answers[rng.integers(len(answers))],
                 _PASSAGE_FILLERS[rng.integers(len(_PASSAGE_FILLERS))]]
        order = [0, 1, 2] if rng.random() < 0.5 else [0, 2, 1]
        passages.append(". ".join(parts[i] for i in order) + ".")
    labels = (kinds == "answer").astype("int64")
    flipped = rng.random(num_pairs) < label_noise
    labels[flipped] = 1 - labels[flipped]
    return PairData({"question": np.array(questions, dtype=object), "passage": np.array(passages, dtype=object)},
                    labels, kinds, "generated question/passage pairs (1 = the passage answers)")


# ----------------------------------------------------------------------------------------------
# Posts with three author attributes
# ----------------------------------------------------------------------------------------------

#: Words of three stages of life, with the age (in years) at which each stage is most likely.
LIFE_STAGE_WORDS = {
    22.0: ["exam", "campus", "dorm", "lecture", "roommate", "internship", "festival", "semester"],
    42.0: ["kids", "mortgage", "promotion", "daycare", "office", "minivan", "meeting", "school"],
    64.0: ["retirement", "grandchildren", "pension", "garden", "cruise", "knee", "bridge", "choir"],
}

#: The income brackets, in label order, and words that point to each of them.
INCOME_NAMES = ["low", "middle", "high"]
INCOME_WORDS = {
    "low": ["coupon", "bus", "rent", "overtime", "secondhand", "budget", "thrift", "discount"],
    "middle": ["car", "holiday", "gym", "restaurant", "laptop", "savings", "camping", "cinema"],
    "high": ["yacht", "villa", "investments", "golf", "chauffeur", "penthouse", "champagne", "opera"],
}

#: The two gender labels, in label order. The only words that carry this target are
#: self-descriptions ("as a mother", "as a man"), never topics, so the data holds no stereotype.
GENDER_NAMES = ["man", "woman"]
GENDER_WORDS = {
    "man": ["man", "father", "dad", "husband", "guy"],
    "woman": ["woman", "mother", "mom", "wife", "lady"],
}

_POST_TEMPLATES = [
    "today was all about the {0} and the {1}", "cannot stop thinking about my {0}",
    "anyone else dealing with {0} and {1} this week", "a quick update on the {0}",
    "the {0} took the whole afternoon", "finally some time for the {0} and the {1}",
]
_SELF_TEMPLATES = ["as a {0} i have opinions", "speaking as a {0} here", "just a {0} sharing thoughts"]
_POST_FILLERS = ["what a day", "the weather was fine", "more soon", "thanks for reading", "coffee first"]


@dataclass
class PostData:
    """Short posts with three targets about their authors, for a model with one input and three outputs.

    Attributes
    ----------
    inputs : dict of str to numpy.ndarray
        ``"post"``: shape ``(n,)``, dtype object (Python strings).
    targets : dict of str to numpy.ndarray
        ``"age"``: shape ``(n,)``, float32 years between 18 and 70; ``"income"``: shape ``(n,)``,
        int64 labels that index ``income_names``; ``"gender"``: shape ``(n,)``, float32 in {0, 1}
        (1 = ``gender_names[1]``).
    income_names, gender_names : list of str
        The meaning of each income label and of each gender label.
    """

    inputs: dict[str, np.ndarray]
    targets: dict[str, np.ndarray]
    income_names: list[str] = field(default_factory=lambda: list(INCOME_NAMES))
    gender_names: list[str] = field(default_factory=lambda: list(GENDER_NAMES))

    def __len__(self) -> int:
        return len(self.targets["age"])

    def describe(self) -> str:
        """Return a one-line summary: size, input, targets and their ranges or shares."""
        ages = self.targets["age"]
        shares = np.bincount(self.targets["income"], minlength=len(self.income_names)) / len(self)
        income = ", ".join(f"{name} {share:.0%}" for name, share in zip(self.income_names, shares))
        return (f"{len(self):,} generated posts | input: post (text) | targets: age ({ages.min():.0f}-{ages.max():.0f} "
                f"years, mean {ages.mean():.1f}), income ({income}), gender ({self.gender_names[1]} "
                f"{self.targets['gender'].mean():.0%})")


def _draw(rng: np.random.Generator, groups: dict, probabilities: np.ndarray) -> str:
    """Draw one word: a group by ``probabilities``, then a word of that group uniformly."""
    words = list(groups.values())[int(rng.choice(len(groups), p=probabilities))]
    return words[rng.integers(len(words))]


def make_author_posts(num_posts: int = 4000, seed: int = 0, age_spread: float = 9.0, income_share: float = 0.8,
                      self_description_share: float = 0.7, label_noise: float = 0.03) -> PostData:
    """Generate posts whose words carry signal about the author's age, income bracket and gender.

    Each author has an age drawn uniformly between 18 and 70, an income bracket (low 40 %, middle
    40 %, high 20 %) and a gender (half each), independently. A post holds two sentences with two
    life-stage words each, drawn from the stage whose typical age (22, 42 or 64) is closest to the
    author's with weights ``exp(-(age - typical)^2 / (2 age_spread^2))``; one sentence with two
    income words, each from the author's bracket with probability ``income_share`` (otherwise from
    another bracket); with probability ``self_description_share`` a self-description ("as a mother")
    that gives the gender; and a filler, in a random order. A share ``label_noise`` of the income and
    gender labels is replaced by a random label. So the age can be estimated to within several years,
    the income and the gender well but not perfectly.

    Parameters
    ----------
    num_posts : int
        How many posts to generate.
    seed : int
        Seed of the random generator: the same seed gives the same posts.
    age_spread : float
        How widely (in years) each life stage's words spread around its typical age.
    income_share : float
        Probability that an income word comes from the author's bracket.
    self_description_share : float
        Share of posts that say the author's gender.
    label_noise : float
        Share of income and of gender labels replaced by a random label.

    Returns
    -------
    PostData
        Input ``post`` and targets ``age``, ``income``, ``gender``.
    """
    if num_posts < 1:
        raise ValueError(f"num_posts must be at least 1, got {num_posts}")
    rng = np.random.default_rng(seed)
    ages = rng.uniform(18.0, 70.0, size=num_posts)
    incomes = rng.choice(len(INCOME_NAMES), size=num_posts, p=[0.4, 0.4, 0.2])
    genders = rng.integers(0, 2, size=num_posts)
    centers = np.array(list(LIFE_STAGE_WORDS))

    posts = []
    for age, income, gender in zip(ages, incomes, genders):
        weights = np.exp(-((age - centers) ** 2) / (2 * age_spread**2))
        stage = weights / weights.sum()
        income_probabilities = np.full(len(INCOME_NAMES), (1.0 - income_share) / (len(INCOME_NAMES) - 1))
        income_probabilities[income] = income_share
        sentences = []
        for _ in range(2):
            template = _POST_TEMPLATES[rng.integers(len(_POST_TEMPLATES))]
            sentences.append(template.format(_draw(rng, LIFE_STAGE_WORDS, stage), _draw(rng, LIFE_STAGE_WORDS, stage)))
        template = _POST_TEMPLATES[rng.integers(len(_POST_TEMPLATES))]
        sentences.append(template.format(_draw(rng, INCOME_WORDS, income_probabilities),
                                         _draw(rng, INCOME_WORDS, income_probabilities)))
        if rng.random() < self_description_share:
            words = GENDER_WORDS[GENDER_NAMES[gender]]
            sentences.append(_SELF_TEMPLATES[rng.integers(len(_SELF_TEMPLATES))].format(words[rng.integers(len(words))]))
        sentences.append(_POST_FILLERS[rng.integers(len(_POST_FILLERS))])
        posts.append(". ".join(sentences[i] for i in rng.permutation(len(sentences))) + ".")

    incomes, genders = incomes.copy(), genders.copy()
    noisy = rng.random(num_posts) < label_noise
    incomes[noisy] = rng.integers(0, len(INCOME_NAMES), size=int(noisy.sum()))
    noisy = rng.random(num_posts) < label_noise
    genders[noisy] = rng.integers(0, 2, size=int(noisy.sum()))
    return PostData(inputs={"post": np.array(posts, dtype=object)},
                    targets={"age": ages.astype("float32"), "income": incomes.astype("int64"),
                             "gender": genders.astype("float32")})
