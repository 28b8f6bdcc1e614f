"""predict.py: JSON in on stdin, JSON out on stdout, for prbot's test cases
and for serving.

    echo '{"sepal_length": 5.1, "sepal_width": 3.5,
           "petal_length": 1.4, "petal_width": 0.2}' | python3 src/predict.py
    {"label": "setosa", "proba": {"setosa": 0.98, ...}}

A list of such objects gives a list of answers. The model is PRBOT_MODEL,
else model.pkl in the project folder (found from this file, not from the
working directory). Before unpickling, its MD5 (and SHA-256 and size when
recorded) is checked against model_manifest.json: PRBOT_MANIFEST, else the
manifest next to the model. A mismatch exits 3 and nothing is unpickled;
with no manifest at all a warning goes to stderr and the model is used.

Exit codes: 0 answered; 1 bad input or no model; 3 the model does not match
its manifest.
"""

import hashlib
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import iris_model  # noqa: E402  (needs the path above)

EXIT_ERROR = 1
EXIT_INTEGRITY = 3


class IntegrityError(Exception):
    """The model file is not the one the manifest describes."""


def model_path():
    env = os.environ.get("PRBOT_MODEL")
    if env:
        return os.path.abspath(env)
    return os.path.join(iris_model.project_dir(), "model.pkl")


def manifest_path(model):
    """(path, explicit): explicit when the caller named it in the env."""
    env = os.environ.get("PRBOT_MANIFEST")
    if env:
        return os.path.abspath(env), True
    return os.path.join(os.path.dirname(model), "model_manifest.json"), False


def verify(data, model, manifest):
    """Raise IntegrityError unless data matches every hash manifest has."""
    try:
        with open(manifest, encoding="utf-8") as f:
            m = json.load(f)
    except OSError as e:
        raise IntegrityError("cannot read manifest '%s': %s" %
                             (manifest, e.strerror)) from None
    except ValueError as e:
        raise IntegrityError("manifest '%s' is not JSON: %s" %
                             (manifest, e)) from None
    if not isinstance(m, dict) or not isinstance(m.get("model_md5_hash"),
                                                 str):
        raise IntegrityError("manifest '%s' has no model_md5_hash string" %
                             manifest)
    checks = [("model_md5_hash", hashlib.md5(data).hexdigest())]
    if "model_sha256" in m:
        checks.append(("model_sha256", hashlib.sha256(data).hexdigest()))
    for key, actual in checks:
        want = m[key]
        if not isinstance(want, str) or want.lower() != actual:
            raise IntegrityError(
                "%s mismatch: manifest '%s' has %s, model '%s' has %s "
                "(the model changed after the manifest was written: "
                "retrain and redeploy, or point PRBOT_MANIFEST at the "
                "manifest of this model)" %
                (key, manifest, want, model, actual))
    size = m.get("model_size_bytes")
    if size is not None and size != len(data):
        raise IntegrityError(
            "model_size_bytes mismatch: manifest '%s' has %s, model '%s' "
            "has %d bytes" % (manifest, size, model, len(data)))


def load_model():
    path = model_path()
    try:
        with open(path, "rb") as f:
            # hash and unpickle the same bytes: the file cannot change
            # between the check and the load
            data = f.read()
    except FileNotFoundError:
        raise SystemExit(
            "predict.py: error: model '%s' not found (run python3 "
            "train.py, or set PRBOT_MODEL)" % path) from None
    manifest, explicit = manifest_path(path)
    if os.path.exists(manifest) or explicit:
        verify(data, path, manifest)
    else:
        print("predict.py: warning: no manifest at '%s': model '%s' is "
              "not verified (set PRBOT_MANIFEST to check it)" %
              (manifest, path), file=sys.stderr)
    return iris_model.load_model_bytes(data)


def main():
    try:
        model = load_model()
    except IntegrityError as e:
        print("predict.py: refusing the model: %s" % e, file=sys.stderr)
        return EXIT_INTEGRITY
    try:
        payload = json.load(sys.stdin)
    except ValueError as e:
        print("predict.py: error: stdin is not JSON: %s" % e,
              file=sys.stderr)
        return EXIT_ERROR
    try:
        answer = iris_model.predict_json(model, payload)
    except iris_model.InputError as e:
        print("predict.py: error: %s" % e, file=sys.stderr)
        return EXIT_ERROR
    json.dump(answer, sys.stdout, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
