"""Rasa's LogisticRegressionClassifier with a configurable C and scaled features.

Rasa's component fixes C at 1.0 and feeds the raw sentence counts of every
featurizer to the model, so a long message (or one repeating a word) weighs
more than a short one, and the 4-character n-grams of one word outvote the word
itself. Here every feature is present/absent (1/0) and each message's row is
L2-normalised, so a one-word reply ("adios") and a long sentence speak with the
same strength; with the features on that scale the model needs much less
regularisation (C around 30-100 instead of 1). Measured with a 3-fold replica of
`make nlu-report`: English CV accuracy +1.7 points, Chinese ±0.5 (see config.yml).
"""

from __future__ import annotations

from typing import Any

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.shared.nlu.training_data.message import Message
from scipy.sparse import csr_matrix
from sklearn.preprocessing import normalize


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class ScaledLogisticRegressionClassifier(LogisticRegressionClassifier):
    """Logistic regression over binary, L2-normalised sentence features, C configurable."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            **LogisticRegressionClassifier.get_default_config(),
            # inverse regularisation strength (sklearn's C)
            "C": 1.0,
            # count -> 1 for every non-zero feature
            "binary": True,
            # scale each message's feature row to unit length
            "l2_normalize": True,
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.clf.set_params(C=float(self.config["C"]))

    def _create_X(self, messages: list[Message]) -> csr_matrix:
        """The parent's feature matrix, binarised and row-normalised as configured."""
        matrix = csr_matrix(super()._create_X(messages), dtype=float)
        if self.config["binary"]:
            matrix.data[:] = 1.0
        if self.config["l2_normalize"]:
            matrix = normalize(matrix, norm="l2", axis=1)
        return matrix
