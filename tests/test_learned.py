"""The fitted models' files (rag/answering/learned.py): what they record, how they are read,
and the numpy walk of the trees against LightGBM's own prediction."""

import json

import numpy as np
import pytest

from rag.answering import features, learned
from rag.errors import ModelError


def test_the_shipped_models_say_what_they_were_fitted_on_and_with_which_features():
    for model, names in ((learned.ranker(), features.SENTENCE_FEATURES),
                         (learned.refusal(), features.QUESTION_FEATURES)):
        assert model.features == names and model.trees
        assert "squad" in model.about["data"] and model.about["params"]["deterministic"]
    assert {"neighbour", "also", "part"} <= set(learned.ranker().settings)
    assert 0 < learned.refusal().settings["min_confidence"] < 1


def test_the_numpy_trees_predict_what_lightgbm_predicts():
    lightgbm = pytest.importorskip("lightgbm")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(600, 3))
    y = (x[:, 0] + 0.5 * x[:, 1] * x[:, 2] > 0).astype(float)
    booster = lightgbm.train({"objective": "binary", "num_leaves": 7, "verbose": -1, "deterministic": True,
                              "num_threads": 1}, lightgbm.Dataset(x, y), num_boost_round=20)
    trees = learned.Trees(("a", "b", "c"), tuple(learned.flatten(t["tree_structure"])
                                                 for t in booster.dump_model()["tree_info"]), {}, {})
    assert np.allclose(trees.predict(x), booster.predict(x), atol=1e-9)


def test_a_hand_made_tree_is_walked_left_on_less_or_equal():
    tree = {"feature": np.array([0, 1]), "threshold": np.array([0.5, 2.0]), "left": np.array([~0, ~1]),
            "right": np.array([1, ~2]), "leaf": np.array([-1.0, 0.0, 1.0])}
    trees = learned.Trees(("a", "b"), (tree,), {}, {})
    assert trees.raw(np.array([[0.5, 9.0], [0.6, 2.0], [0.6, 2.1]])).tolist() == [-1.0, 0.0, 1.0]


def test_a_missing_or_mismatched_file_names_the_command_that_rebuilds_it(tmp_path):
    with pytest.raises(ModelError, match="make fit"):
        learned.read(tmp_path / "ranker.json", features.SENTENCE_FEATURES)
    doc = json.loads((learned.FITTED / "refusal.json").read_text())
    (tmp_path / "old.json").write_text(json.dumps({**doc, "features": doc["features"][:-1]}))
    with pytest.raises(ModelError, match="other features.*make fit"):
        learned.read(tmp_path / "old.json", features.QUESTION_FEATURES)
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(ModelError, match="cannot be read.*make fit"):
        learned.read(tmp_path / "broken.json", features.QUESTION_FEATURES)
