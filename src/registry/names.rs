//! Every tag, param and model-context key llmops writes to or reads from MLflow, each spelled once.
//! A change to one of these names is a change to what existing versions mean: it touches this file
//! only, and `docs/architecture.md` lists which command writes and which reads each.

/// Tags MLflow itself defines (`mlflow/utils/mlflow_tags.py`); the UI and other clients read them.
pub mod mlflow_tag {
    pub const RUN_NAME: &str = "mlflow.runName";
    pub const USER: &str = "mlflow.user";
    pub const SOURCE_NAME: &str = "mlflow.source.name";
    pub const SOURCE_TYPE: &str = "mlflow.source.type";
    /// Makes a run nested under another in the UI; the fallback that finds a child's parent.
    pub const PARENT_RUN_ID: &str = "mlflow.parentRunId";
}

/// Tags llmops sets on runs and model versions.
pub mod tag {
    /// Which llmops wrote the run.
    pub const LLMOPS_VERSION: &str = "llmops.version";
    /// `parent` (the binaries), `child` (the small pyfunc model) or `binaries` (Triton's holder version).
    pub const ROLE: &str = "llmops.role";
    /// The folder the binaries were registered from.
    pub const SOURCE_DIR: &str = "llmops.source_dir";
    pub const PARENT_RUN_ID: &str = "llmops.parent_run_id";
    pub const MANIFEST_DIGEST: &str = "llmops.manifest_digest";
    pub const FILE_COUNT: &str = "llmops.file_count";
    pub const TOTAL_BYTES: &str = "llmops.total_bytes";
    pub const ARCHITECTURE: &str = "llmops.architecture";
    pub const PARAMS: &str = "llmops.params";
    pub const PUBLISHED: &str = "llmops.published";
    pub const DEV_STAGED_PATH: &str = "llmops.dev_staged_path";
    /// `triton` for a version served from a Triton model repository.
    pub const TARGET: &str = "llmops.target";
    pub const TRITON_MODEL_NAME: &str = "llmops.triton_model_name";
    pub const TRITON_MODEL_VERSION: &str = "llmops.triton_model_version";
    /// `adopt`: when and by whom a version registered by another tool got its manifest.
    pub const ADOPTED_AT: &str = "llmops.adopted_at";
    pub const ADOPTED_BY: &str = "llmops.adopted_by";
    /// What a model was registered from (`register --source`, else detected): a Hugging Face id
    /// (`org/name`, from a cache snapshot's path `models--org--name/snapshots/<revision>` or the
    /// folder's `config.json` `_name_or_path`), or a URI; and the Hugging Face revision, when known.
    pub const SOURCE_MODEL: &str = "llmops.source_model";
    pub const SOURCE_REVISION: &str = "llmops.source_revision";
    /// `register --training-run`: the run that trained the model, on the parent run and the version.
    pub const TRAINING_RUN_ID: &str = "llmops.training_run_id";
    /// The chat template's sha256 and whether it takes tools (a prompt format change is a model change).
    pub const CHAT_TEMPLATE_SHA256: &str = "llmops.chat_template.sha256";
    pub const CHAT_TEMPLATE_TOOL_USE: &str = "llmops.chat_template.tool_use";
    /// The `--tool-call-parser` vLLM needs for that template (`none`, `unknown`), for `size`.
    pub const TOOL_CALL_PARSER: &str = "llmops.tool_call_parser";
    /// A LoRA adapter's base version (`register --base`), and what it was checked against.
    pub const BASE_NAME: &str = "llmops.base.name";
    pub const BASE_VERSION: &str = "llmops.base.version";
    pub const BASE_PARENT_RUN_ID: &str = "llmops.base.parent_run_id";
    pub const BASE_MANIFEST_DIGEST: &str = "llmops.base.manifest_digest";
    /// The adapter's rank and the smallest `--max-lora-rank` vLLM accepts for it.
    pub const LORA_RANK: &str = "llmops.lora.rank";
    pub const LORA_MAX_LORA_RANK: &str = "llmops.lora.max_lora_rank";
    /// The audit trail `promote` leaves on the version.
    pub const PROMOTED_AT: &str = "llmops.promoted_at";
    pub const PROMOTED_BY: &str = "llmops.promoted_by";
    pub const PROMOTED_TO: &str = "llmops.promoted_to";
    pub const PROMOTED_DIGEST: &str = "llmops.promoted_manifest_digest";
    /// `rollback`: the alias move, on both versions.
    pub const ROLLBACK: &str = "llmops.rollback";
    /// `prune`: when and from where the version's prod folder was removed.
    pub const PRUNED: &str = "llmops.pruned";
    /// The gates a promotion passed, as given, with the values found.
    pub const PROMOTED_GATES: &str = "llmops.promoted_gates";
    /// An adapter's promote: the base folder it was promoted against.
    pub const PROMOTED_BASE_TO: &str = "llmops.promoted_base_to";
    /// `register --gpu`: the verdict `llmops size` gives, recorded on the version.
    pub const SIZE_GPU: &str = "llmops.size.gpu";
    pub const SIZE_MAX_MODEL_LEN: &str = "llmops.size.max_model_len";
    pub const SIZE_FITS: &str = "llmops.size.fits";
    pub const SIZE_MAX_CONCURRENCY: &str = "llmops.size.max_concurrency";
    pub const SIZE_KV_TOKENS: &str = "llmops.size.kv_tokens";
    pub const SIZE_MAX_MODEL_LEN_THAT_FITS: &str = "llmops.size.max_model_len_that_fits";
}

/// Run params (the reference notebooks read the child's `parent_run_id` and Triton coordinates).
pub mod param {
    pub const SOURCE_DIR: &str = "source_dir";
    pub const FILE_COUNT: &str = "file_count";
    pub const TOTAL_BYTES: &str = "total_bytes";
    pub const PARENT_RUN_ID: &str = "parent_run_id";
    pub const TRITON_MODEL_NAME: &str = "triton_model_name";
    pub const TRITON_MODEL_VERSION: &str = "triton_model_version";
}

/// Keys of the child model's `model_context.json` (what the pyfunc model reads at load time).
pub mod context {
    /// The LLM layout's parent run (`$LOCAL_ROOT_FOLDER/llm-models/<run_id>`).
    pub const RUN_ID: &str = "run_id";
    /// Triton's proxy names the parent like the reference notebooks' param.
    pub const PARENT_RUN_ID: &str = super::param::PARENT_RUN_ID;
    pub const INFERENCE_SERVER_NAME: &str = "inference_server_name";
    pub const MODEL_NAME: &str = "model_name";
    pub const MODEL_VERSION: &str = "model_version";
    /// A LoRA adapter's base: its parent run (`llm-models/<base_run_id>`), name and version.
    pub const BASE_RUN_ID: &str = "base_run_id";
    pub const BASE_MODEL_NAME: &str = "base_model_name";
    pub const BASE_MODEL_VERSION: &str = "base_model_version";
}

/// Values of [`tag::ROLE`] and [`tag::TARGET`].
pub mod value {
    pub const ROLE_PARENT: &str = "parent";
    pub const ROLE_CHILD: &str = "child";
    pub const ROLE_BINARIES: &str = "binaries";
    pub const TARGET_TRITON: &str = "triton";
}
