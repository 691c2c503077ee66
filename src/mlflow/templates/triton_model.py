"""llmops `triton` template: a thin pyfunc proxy in front of NVIDIA Triton.

The registered model carries only `model_context.json`: {parent_run_id, inference_server_name,
model_name, model_version}. `predict` takes a KServe v2 infer body ({"inputs": [...]}) and returns
Triton's response. It posts to Triton directly when LLMOPS_TRITON_URL is set
(`/v2/models/<model>/versions/<N>/infer`), else to the Domino inference proxy named by
DOMINO_INFERENCE_PROXY (`/predict`, with the reference's payload shape).
"""

import json
import os
import urllib.request

import mlflow
from mlflow.pyfunc import PythonModel


class LlmopsTritonProxyModel(PythonModel):
    def load_context(self, context):
        with open(context.artifacts["model_context"]) as f:
            self.context = json.load(f)

    def _post(self, url, body):
        request = urllib.request.Request(
            url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
        )
        with urllib.request.urlopen(request, timeout=float(os.environ.get("LLMOPS_TRITON_TIMEOUT", "60"))) as response:
            return json.loads(response.read().decode())

    def predict(self, context, model_input, params=None):
        body = model_input if isinstance(model_input, dict) else {"inputs": model_input}
        model, version = self.context["model_name"], self.context["model_version"]
        triton = os.environ.get("LLMOPS_TRITON_URL")
        if triton:
            return self._post(f"{triton.rstrip('/')}/v2/models/{model}/versions/{version}/infer", body)
        proxy = os.environ.get("DOMINO_INFERENCE_PROXY")
        if proxy:
            return self._post(
                f"{proxy.rstrip('/')}/predict",
                {
                    "inference_server_name": self.context["inference_server_name"],
                    "model_name": model,
                    "model_version": version,
                    "payload": body,
                },
            )
        raise RuntimeError("set LLMOPS_TRITON_URL (Triton's HTTP address) or DOMINO_INFERENCE_PROXY")


mlflow.models.set_model(LlmopsTritonProxyModel())
