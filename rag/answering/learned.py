"""The fitted models the answer stages read: the evidence ranker and the refusal model.

Both are gradient-boosted trees fitted by `make fit` (tools/fit.py, LightGBM) on the fitting
data of ../shared/eval and written to rag/answering/fitted/ as JSON: the format, the feature
list, the data they came from, their cross-validated figures, the settings chosen with them
(the refusal threshold, when to add a second sentence) and the trees themselves. Answering
walks the trees with numpy (`Trees.predict`), so it needs neither LightGBM nor a pickle.
A missing file, or one fitted for other features, is a `ModelError` naming the command that
rebuilds it. Leaves out: the features (rag/answering/features.py) and the fitting.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ModelError
from .features import QUESTION_FEATURES, SENTENCE_FEATURES

FORMAT = 1
FITTED = Path(__file__).resolve().parent / "fitted"
REBUILD = "run `make fit` to rebuild it from ../shared/eval"


@dataclass(frozen=True)
class Trees:
    """A sum of regression trees and a sigmoid: LightGBM's binary model, as plain arrays."""

    features: tuple[str, ...]
    trees: tuple[dict[str, np.ndarray], ...]  # per tree: feature, threshold, left, right (a leaf is ~index), leaf
    settings: dict  # what was chosen with the model on fitting data (thresholds, ratios)
    about: dict  # the data it came from and its cross-validated figures

    def raw(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, np.float64).reshape(-1, len(self.features))
        total = np.zeros(len(x))
        for t in self.trees:
            if not len(t["feature"]):  # a tree without a split
                total += t["leaf"][0]
                continue
            node = np.zeros(len(x), np.int64)
            live = np.arange(len(x))
            while live.size:
                n = node[live]
                go = np.where(x[live, t["feature"][n]] <= t["threshold"][n], t["left"][n], t["right"][n])
                done = go < 0
                total[live[done]] += t["leaf"][~go[done]]
                node[live] = go
                live = live[~done]
        return total

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The chance of the positive class for each row of `x` (rows of `features`)."""
        return 1.0 / (1.0 + np.exp(-self.raw(x)))


def flatten(tree_structure: dict) -> dict[str, np.ndarray]:
    """One tree of LightGBM's `dump_model()` as arrays (internal nodes in visiting order)."""
    feature, threshold, left, right, leaf = [], [], [], [], []

    def visit(node: dict) -> int:
        if "leaf_value" in node or "split_feature" not in node:
            leaf.append(float(node.get("leaf_value", 0.0)))
            return ~(len(leaf) - 1)
        if node.get("decision_type", "<=") != "<=":
            raise ValueError(f"unsupported split {node['decision_type']!r} (categorical features are not used)")
        k = len(feature)
        feature.append(int(node["split_feature"]))
        threshold.append(float(node["threshold"]))
        left.append(0)
        right.append(0)
        left[k] = visit(node["left_child"])
        right[k] = visit(node["right_child"])
        return k

    visit(tree_structure)
    return {"feature": np.array(feature, np.int64), "threshold": np.array(threshold, np.float64),
            "left": np.array(left, np.int64), "right": np.array(right, np.int64), "leaf": np.array(leaf, np.float64)}


def save(path: Path, booster_dump: dict, features: tuple[str, ...], settings: dict, about: dict) -> None:
    """Write a fitted LightGBM booster (`booster.dump_model()`) as the model file at `path`."""
    trees = [flatten(t["tree_structure"]) for t in booster_dump["tree_info"]]
    doc = {"format": FORMAT, "features": list(features), "settings": settings, "about": about,
           "trees": [{k: v.tolist() for k, v in t.items()} for t in trees]}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, separators=(",", ":")) + "\n")
    tmp.replace(path)


def read(path: Path, features: tuple[str, ...]) -> Trees:
    """The model file at `path`, checked against the features the code computes."""
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        raise ModelError(f"the fitted model {path} is missing: {REBUILD}") from None
    except (OSError, ValueError) as e:
        raise ModelError(f"the fitted model {path} cannot be read ({e}): {REBUILD}") from None
    if doc.get("format") != FORMAT:
        raise ModelError(f"the fitted model {path} is in format {doc.get('format')}, this code reads format "
                         f"{FORMAT}: {REBUILD}")
    if tuple(doc.get("features", ())) != features:
        changed = sorted(set(features) ^ set(doc.get("features", ()))) or ["their order"]
        raise ModelError(f"the fitted model {path} was fitted on other features than this code computes "
                         f"(differing: {', '.join(changed[:5])}): {REBUILD}")
    trees = tuple({k: np.array(v, np.float64 if k in ("threshold", "leaf") else np.int64) for k, v in t.items()}
                  for t in doc["trees"])
    return Trees(features, trees, doc.get("settings", {}), doc.get("about", {}))


@functools.cache
def ranker() -> Trees:
    """The evidence ranker: the chance that a candidate sentence holds the answer."""
    return read(FITTED / "ranker.json", SENTENCE_FEATURES)


@functools.cache
def refusal() -> Trees:
    """The refusal model: the chance that the chosen evidence answers the question."""
    return read(FITTED / "refusal.json", QUESTION_FEATURES)
