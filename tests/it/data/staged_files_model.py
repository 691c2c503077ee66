"""Test model: reports the parent run id from model_context.json and the files staged for it."""

import json
import os

import mlflow
from mlflow.pyfunc import PythonModel


class StagedFilesModel(PythonModel):
    def load_context(self, context):
        with open(context.artifacts["model_context"]) as f:
            self.run_id = json.load(f)["run_id"]
        self.model_dir = os.path.join(os.environ.get("LOCAL_ROOT_FOLDER", "/"), "llm-models", self.run_id)

    def predict(self, context, model_input, params=None):
        files = []
        for root, _, names in os.walk(self.model_dir):
            for name in names:
                files.append(os.path.relpath(os.path.join(root, name), self.model_dir))
        return [json.dumps({"run_id": self.run_id, "files": sorted(files)})]


mlflow.models.set_model(StagedFilesModel())
