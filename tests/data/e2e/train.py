# train.py: the tiny "training" of the end-to-end test's repository
import json
import pickle

with open("model.pkl", "wb") as f:
    pickle.dump({"weights": [0.1, 0.2, 0.3]}, f, protocol=4)
with open("metrics.json", "w", encoding="utf-8") as f:
    json.dump({"accuracy": 0.95}, f)
