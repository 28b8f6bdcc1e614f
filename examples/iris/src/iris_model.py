"""iris_model.py: the iris classifier shared by train.py, the notebook,
predict.py and the serving template (standard library only).

A multinomial logistic regression on standardised features, trained by
full-batch gradient descent. Every step is deterministic: a seeded split,
a fixed number of epochs, loops in a fixed order, and a model made only of
built-in types so that pickling the same numbers gives the same bytes.
"""

import csv
import json
import math
import os
import pickle
import random
import time

FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")
LABEL = "species"

# Hyperparameters: changing any of them changes the model, so they live here
# and nowhere else; train.py and the notebook both use these defaults.
SEED = 20240601
TEST_PER_CLASS = 10
EPOCHS = 400
LEARNING_RATE = 0.5
L2 = 0.001

# Pinned so that two Python versions with a different default protocol
# still write the same bytes.
PICKLE_PROTOCOL = 4
MODEL_FORMAT = "iris-logreg/1"


class InputError(ValueError):
    """A prediction input that is not four finite numbers."""


def project_dir():
    """The folder holding .prbot.yml: the parent of src/."""
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ---- data ----

def load_csv(path):
    """Rows of (features tuple, label) from a CSV with FEATURES and LABEL."""
    rows = []
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = [c for c in FEATURES + (LABEL,)
                   if c not in (reader.fieldnames or ())]
        if missing:
            raise ValueError("%s: missing column(s) %s" %
                             (path, ", ".join(missing)))
        for lineno, rec in enumerate(reader, start=2):
            try:
                x = tuple(float(rec[c]) for c in FEATURES)
            except (TypeError, ValueError):
                raise ValueError("%s:%d: a feature is not a number" %
                                 (path, lineno)) from None
            rows.append((x, rec[LABEL]))
    if not rows:
        raise ValueError("%s: no data rows" % path)
    return rows


def classes_of(rows):
    """The class names, sorted, so their order never depends on the file."""
    return sorted({y for _, y in rows})


def stratified_split(rows, test_per_class=TEST_PER_CLASS, seed=SEED):
    """(train, test): test_per_class rows of each class go to test.

    One random.Random(seed) shuffles each class in sorted class order, so
    the split depends on the seed and the data only.
    """
    rng = random.Random(seed)
    train, test = [], []
    for c in classes_of(rows):
        members = [r for r in rows if r[1] == c]
        rng.shuffle(members)
        test.extend(members[:test_per_class])
        train.extend(members[test_per_class:])
    return train, test


# ---- model ----

def _standardiser(xs):
    n = len(xs)
    mean = [sum(x[j] for x in xs) / n for j in range(len(FEATURES))]
    std = []
    for j in range(len(FEATURES)):
        var = sum((x[j] - mean[j]) ** 2 for x in xs) / n
        std.append(math.sqrt(var) if var > 0 else 1.0)
    return mean, std


def _softmax(z):
    m = max(z)
    e = [math.exp(v - m) for v in z]
    s = sum(e)
    return [v / s for v in e]


def _scores(model, x):
    xs = [(x[j] - model["mean"][j]) / model["std"][j]
          for j in range(len(FEATURES))]
    return [b + sum(w[j] * xs[j] for j in range(len(xs)))
            for w, b in zip(model["weights"], model["bias"])]


def train(rows, epochs=EPOCHS, learning_rate=LEARNING_RATE, l2=L2):
    """Fit the model on rows; returns a dict of built-in types only."""
    classes = classes_of(rows)
    index = {c: i for i, c in enumerate(classes)}
    mean, std = _standardiser([x for x, _ in rows])
    xs = [[(x[j] - mean[j]) / std[j] for j in range(len(FEATURES))]
          for x, _ in rows]
    ys = [index[y] for _, y in rows]
    k, d, n = len(classes), len(FEATURES), len(rows)
    w = [[0.0] * d for _ in range(k)]
    b = [0.0] * k
    for _ in range(epochs):
        gw = [[0.0] * d for _ in range(k)]
        gb = [0.0] * k
        for x, y in zip(xs, ys):
            p = _softmax([b[c] + sum(w[c][j] * x[j] for j in range(d))
                          for c in range(k)])
            for c in range(k):
                err = p[c] - (1.0 if c == y else 0.0)
                gb[c] += err
                row = gw[c]
                for j in range(d):
                    row[j] += err * x[j]
        for c in range(k):
            for j in range(d):
                w[c][j] -= learning_rate * (gw[c][j] / n + l2 * w[c][j])
            b[c] -= learning_rate * gb[c] / n
    return {
        "format": MODEL_FORMAT,
        "features": list(FEATURES),
        "classes": classes,
        "mean": mean,
        "std": std,
        "weights": w,
        "bias": b,
        "hyperparameters": {"epochs": epochs, "learning_rate": learning_rate,
                            "l2": l2, "seed": SEED,
                            "test_per_class": TEST_PER_CLASS},
    }


def predict_proba(model, x):
    """{class: probability} for one feature tuple."""
    return dict(zip(model["classes"], _softmax(_scores(model, x))))


def predict(model, x):
    """The most probable class; ties go to the first class in sorted order."""
    p = predict_proba(model, x)
    return max(model["classes"], key=lambda c: p[c])


# ---- the JSON interface of predict.py and serve.py ----

def features_from_json(obj):
    """The feature tuple of one input object; InputError names the field."""
    if not isinstance(obj, dict):
        raise InputError("input must be a JSON object with %s, got %s" %
                         (", ".join(FEATURES), type(obj).__name__))
    x = []
    for name in FEATURES:
        if name not in obj:
            raise InputError("input field '%s' is missing" % name)
        v = obj[name]
        # bool is an int in Python; true is not a length
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise InputError("input field '%s' must be a number, got %s" %
                             (name, json.dumps(v)))
        if not math.isfinite(v):
            raise InputError("input field '%s' must be finite, got %s" %
                             (name, v))
        x.append(float(v))
    return tuple(x)


def predict_json(model, payload):
    """Answer for one input object, or a list of answers for a list."""
    def one(obj):
        p = predict_proba(model, features_from_json(obj))
        label = max(model["classes"], key=lambda c: p[c])
        return {"label": label,
                "proba": {c: round(p[c], 6) for c in model["classes"]}}

    if isinstance(payload, list):
        return [one(o) for o in payload]
    return one(payload)


# ---- evaluation ----

def _ratio(a, b):
    return a / b if b else 0.0


def evaluate(model, rows):
    """Accuracy, macro F1, log loss and per-class precision/recall/F1."""
    classes = model["classes"]
    tp = {c: 0 for c in classes}
    fp = {c: 0 for c in classes}
    fn = {c: 0 for c in classes}
    loss = 0.0
    for x, y in rows:
        p = predict_proba(model, x)
        guess = max(classes, key=lambda c: p[c])
        loss -= math.log(max(p[y], 1e-15))
        if guess == y:
            tp[y] += 1
        else:
            fp[guess] += 1
            fn[y] += 1
    per_class = {}
    f1_sum = 0.0
    for c in classes:
        prec = _ratio(tp[c], tp[c] + fp[c])
        rec = _ratio(tp[c], tp[c] + fn[c])
        f1 = _ratio(2 * prec * rec, prec + rec)
        f1_sum += f1
        per_class[c] = {"precision": round(prec, 6), "recall": round(rec, 6),
                        "f1": round(f1, 6), "support": tp[c] + fn[c]}
    return {
        "accuracy": round(sum(tp.values()) / len(rows), 6),
        "f1_macro": round(f1_sum / len(classes), 6),
        "log_loss": round(loss / len(rows), 6),
        "per_class": per_class,
    }


def latency_ms(model, rows, repeat=20):
    """Time of one prediction, rounded UP to whole milliseconds.

    The best of several passes over rows, then ceil: a pure-Python
    prediction takes microseconds, so this reads 1 on any ordinary machine
    and metrics.json stays byte-identical between runs, while a model that
    becomes slow enough to matter still shows up and can be gated on.
    """
    best = None
    for _ in range(repeat):
        start = time.perf_counter()
        for x, _ in rows:
            predict_proba(model, x)
        per_row = (time.perf_counter() - start) / len(rows)
        best = per_row if best is None else min(best, per_row)
    return float(max(1, math.ceil(best * 1000.0)))


def metrics_for(model, train_rows, test_rows):
    """The metrics.json object: test metrics plus sizes and latency."""
    m = evaluate(model, test_rows)
    m["train_accuracy"] = evaluate(model, train_rows)["accuracy"]
    m["latency_ms"] = latency_ms(model, test_rows)
    m["n_train"] = len(train_rows)
    m["n_test"] = len(test_rows)
    return m


# ---- files ----

def _canonical(obj):
    # A JSON round trip gives every string and float a fresh object in a
    # fixed pattern, so pickle's memo (keyed by object identity) cannot make
    # the bytes depend on whether a string happened to be interned.
    return json.loads(json.dumps(obj, sort_keys=True, allow_nan=False))


def model_bytes(model):
    return pickle.dumps(_canonical(model), protocol=PICKLE_PROTOCOL)


def metrics_text(metrics):
    return json.dumps(metrics, indent=2, sort_keys=True,
                      allow_nan=False) + "\n"


def _write_atomic(path, data):
    # A reader never sees half a model: write aside, then rename over.
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def save(model, metrics, model_path, metrics_path):
    _write_atomic(model_path, model_bytes(model))
    _write_atomic(metrics_path, metrics_text(metrics).encode("utf-8"))


def load_model_bytes(data):
    """Unpickle a model; only call this on bytes whose hash was checked."""
    model = pickle.loads(data)
    if not isinstance(model, dict) or model.get("format") != MODEL_FORMAT:
        raise ValueError("not an %s model" % MODEL_FORMAT)
    return model


def run(root=None):
    """The whole training, as train.py runs it; returns (model, metrics)."""
    root = root or project_dir()
    rows = load_csv(os.path.join(root, "data", "iris.csv"))
    train_rows, test_rows = stratified_split(rows)
    model = train(train_rows)
    metrics = metrics_for(model, train_rows, test_rows)
    save(model, metrics, os.path.join(root, "model.pkl"),
         os.path.join(root, "metrics.json"))
    return model, metrics
