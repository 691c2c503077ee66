"""llmops `transformers` template: serves the binaries staged for this model version.

The registered model carries only `model_context.json` ({"run_id": <parent run>}); the weights stay in
the dataset mounted at `$LOCAL_ROOT_FOLDER/llm-models/<run_id>` (default root `/`). A LoRA adapter's
context also names its base ({"base_run_id": ...}): the base is loaded from `llm-models/<base_run_id>`
and the adapter from `llm-models/<run_id>` is applied on it with PEFT.
"""

import json
import os

import mlflow
from mlflow.pyfunc import PythonModel


class LlmopsTransformersModel(PythonModel):
    def load_context(self, context):
        # Heavy libraries load here, not at import, so logging and registering stay light.
        from transformers import pipeline

        with open(context.artifacts["model_context"]) as f:
            model_context = json.load(f)
        self.run_id = model_context["run_id"]
        root = os.environ.get("LOCAL_ROOT_FOLDER", "/")
        self.model_dir = os.path.join(root, "llm-models", self.run_id)
        base_run_id = model_context.get("base_run_id")
        if base_run_id is None:
            self.pipeline = pipeline("text-generation", model=self.model_dir, device_map="auto")
            return
        from peft import PeftModel
        from transformers import AutoModelForCausalLM, AutoTokenizer

        base_dir = os.path.join(root, "llm-models", base_run_id)
        base = AutoModelForCausalLM.from_pretrained(base_dir, device_map="auto")
        model = PeftModel.from_pretrained(base, self.model_dir)
        tokenizer = AutoTokenizer.from_pretrained(base_dir)
        self.pipeline = pipeline("text-generation", model=model, tokenizer=tokenizer)

    def predict(self, context, model_input, params=None):
        prompts = model_input
        if hasattr(model_input, "iloc"):
            prompts = model_input.iloc[:, 0].tolist()
        if isinstance(prompts, str):
            prompts = [prompts]
        params = params or {}
        outputs = self.pipeline(list(prompts), max_new_tokens=int(params.get("max_new_tokens", 256)))
        return [output[0]["generated_text"] for output in outputs]


mlflow.models.set_model(LlmopsTransformersModel())
