"""Test model: answers with its model_context.json, as the loaded model sees it."""

import json

import mlflow
from mlflow.pyfunc import PythonModel


class ContextModel(PythonModel):
    def load_context(self, context):
        with open(context.artifacts["model_context"]) as f:
            self.context = json.load(f)

    def predict(self, context, model_input, params=None):
        return [json.dumps(self.context)]


mlflow.models.set_model(ContextModel())
