"""train.py: train the iris classifier from the command line.

Writes model.pkl and metrics.json next to this file, byte for byte what
model_training.ipynb writes: both call src/iris_model.py with its defaults.
"""

import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "src"))

import iris_model  # noqa: E402  (needs the path above)


def main():
    start = time.perf_counter()
    model, metrics = iris_model.run()
    print(json.dumps(metrics, indent=2, sort_keys=True))
    print("wrote model.pkl and metrics.json in %.2fs" %
          (time.perf_counter() - start), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
