
use builtin;
use str;

set edit:completion:arg-completer[llmops] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'llmops'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'llmops'= {
            cand --output 'Output format: tables for people, or one JSON document on stdout for scripts'
            cand --color 'When to colour the output; `auto` colours a terminal unless NO_COLOR is set'
            cand -q 'Print only results and errors: no progress, no notes (warnings still go to stderr)'
            cand --quiet 'Print only results and errors: no progress, no notes (warnings still go to stderr)'
            cand --no-progress 'No progress bars or progress lines (also LLMOPS_NO_PROGRESS=1)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand register 'Register a model folder in MLflow: parent run with the binaries, dev staging, child pyfunc, version'
            cand publish 'Upload a registered version''s binaries into its parent run, once it is tested'
            cand promote 'Put a registered version''s binaries into the prod dataset, from S3, verified and atomic'
            cand adopt 'Record a manifest for a version registered by another tool, hashed from its bytes in S3'
            cand rollback 'Move an alias back to the version it pointed to before, after checking its prod copy'
            cand lineage 'Where a version came from and where it went: source, runs, datasets, metrics, aliases, promotions'
            cand prune 'Remove prod folders of versions nothing serves: not aliased, not among the N last promoted, no adapter''s base'
            cand status 'Show every version of a registered model: staged in dev, published, promoted, verified'
            cand verify 'Re-hash the prod copy of a version against its manifest'
            cand size 'Predict the GPU memory vLLM will allocate for a model, and whether it fits'
            cand doctor 'Check the setup for a role: tracking server, authentication, AWS credentials, roots, Triton, clock'
            cand config 'Show the resolved configuration: every setting, its value, and where it came from'
            cand generate 'Write shell completions and man pages (for packagers)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'llmops;register'= {
            cand --name 'Registered model name'
            cand --experiment 'MLflow experiment for the runs [default: MLFLOW_EXPERIMENT_NAME, else the model name]'
            cand --target 'Where the binaries are served from: the LLM layout, or a Triton model repository'
            cand --client-name 'With --target triton: the registered name of the proxy (client) model [default: <NAME>-client]'
            cand --inference-server 'With --target triton: the inference server the proxy routes to (the reference''s inference_server_name)'
            cand --config-pbtxt 'With --target triton: the config.pbtxt to use instead of the folder''s own'
            cand --gpu 'Size the model for this GPU and record the verdict on the version (llmops.size.* tags)'
            cand --max-model-len 'With --gpu: the context length to size for [default: the config''s]'
            cand --dev-root 'The dev dataset root (binaries are staged at <DEV_ROOT>/llm-models/<parent-run-id>/), or the dev Triton repository'
            cand --python-model 'Your model-from-code file (it must call mlflow.models.set_model); default: the transformers template'
            cand --template 'A built-in model template'
            cand --pip-requirement 'Extra pip requirement for the model''s environment (repeatable)'
            cand --tag 'Tag for the runs and the version, KEY=VALUE (repeatable)'
            cand --description 'Description of the registered model and version'
            cand --base 'For a LoRA adapter folder: the registered base version it was trained on (models:/NAME/V, models:/NAME@ALIAS)'
            cand --source 'What the model came from: hf://ORG/NAME@REVISION, or an s3://, gs://, http(s):// or models:/ URI [default: read from a Hugging Face cache snapshot''s path or config.json''s _name_or_path]'
            cand --training-run 'The MLflow run that trained the model; `llmops lineage` follows it and promotion gates read its metrics'
            cand --dataset 'A dataset the model was trained on, NAME=URI (s3://, gs://, hf://ORG/NAME@REVISION, http(s)://, /path), logged as an input of the parent run (repeatable)'
            cand --tracking-uri 'MLflow tracking server, http(s)://host:port'
            cand --output 'Output format: tables for people, or one JSON document on stdout for scripts'
            cand --color 'When to colour the output; `auto` colours a terminal unless NO_COLOR is set'
            cand --publish 'Also upload the binaries into the parent run now (otherwise run `llmops publish` later)'
            cand -q 'Print only results and errors: no progress, no notes (warnings still go to stderr)'
            cand --quiet 'Print only results and errors: no progress, no notes (warnings still go to stderr)'
            cand --no-progress 'No progress bars or progress lines (also LLMOPS_NO_PROGRESS=1)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'llmops;publish'= {
            cand --version 'The version, when MODEL is a bare name'
            cand --dev-root 'The dev dataset root (binaries are staged at <DEV_ROOT>/llm-models/<parent-run-id>/), or the dev Triton repository'
            cand --tracking-uri 'MLflow tracking server, http(s)://host:port'
            cand --output 'Output format: tables for people, or one JSON document on stdout for scripts'
            cand --color 'When to colour the output; `auto` colours a terminal unless NO_COLOR is set'
            cand -q 'Print only results and errors: no progress, no notes (warnings still go to stderr)'
            cand --quiet 'Print only results and errors: no progress, no notes (warnings still go to stderr)'
            cand --no-progress 'No progress bars or progress lines (also LLMOPS_NO_PROGRESS=1)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'llmops;promote'= {
            cand --version 'The version, when MODEL is a bare name'
            cand --prod-root 'The prod dataset root (models land in <PROD_ROOT>/llm-models/<parent-run-id>/), or the prod Triton repository'
            cand --artifacts-destination 'The MLflow server''s artifact store, s3://BUCKET[/PREFIX], for mlflow-artifacts:/ runs'
            cand --alias 'Move this alias to the promoted version'
            cand --require 'A gate the version must pass before anything is downloaded: ''metric:<key> >= <number>'' (also <=, >, <, ==) or ''tag:<key>=<value>'' (repeatable)'
            cand --require-better-than 'The version''s metric must beat the one of the version holding the alias now: ''@<alias>:<metric>'' (append '':lower'' when lower is better)'
            cand --target 'Where the binaries are served from (for Triton, --prod-root is the model repository)'
            cand --gpu 'With --require-fit: the GPU the endpoint runs on'
            cand --max-model-len 'With --require-fit: the context length the endpoint serves [default: the config''s]'
            cand --tensor-parallel-size 'With --require-fit: GPUs per endpoint'
            cand --triton-url 'With --target triton: Triton''s HTTP address, for --load'
            cand --load-timeout 'Seconds to wait for Triton to report the version ready [default: 120]'
            cand --concurrency 'Requests in flight [default: 32]'
            cand --part-size 'Objects larger than this are fetched in ranged parts of this size [default: 64MiB]'
            cand --stall-timeout 'Seconds without a byte before a read is retried [default: 30]'
            cand --tracking-uri 'MLflow tracking server, http(s)://host:port'
            cand --output 'Output format: tables for people, or one JSON document on stdout for scripts'
            cand --color 'When to colour the output; `auto` colours a terminal unless NO_COLOR is set'
            cand --dry-run 'Show the caller, the source, the files and the destination; download nothing'
            cand --allow-unverified 'Promote even when no manifest recorded at registration vouches for the files (a version registered by another tool, or whose manifest is gone): sizes and ETags only, said in the audit tags'
            cand --no-base 'For a LoRA adapter: refuse, rather than promote its base first, when the base is not in prod'
            cand --require-fit 'Refuse to promote a model that will not start on --gpu with --max-model-len (sized from the published safetensors headers, without downloading the tensors)'
            cand --load 'With --target triton: ask Triton to load the version, and wait until it is ready'
            cand -q 'Print only results and errors: no progress, no notes (warnings still go to stderr)'
            cand --quiet 'Print only results and errors: no progress, no notes (warnings still go to stderr)'
            cand --no-progress 'No progress bars or progress lines (also LLMOPS_NO_PROGRESS=1)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'llmops;adopt'= {
            cand --version 'The version, when MODEL is a bare name'
            cand --artifacts-destination 'The MLflow server''s artifact store, s3://BUCKET[/PREFIX], for mlflow-artifacts:/ runs'
            cand --tracking-uri 'MLflow tracking server, http(s)://host:port'
            cand --output 'Output format: tables for people, or one JSON document on stdout for scripts'
            cand --color 'When to colour the output; `auto` colours a terminal unless NO_COLOR is set'
            cand --dry-run 'Hash the bytes and show the manifest''s digest; record nothing'
            cand -q 'Print only results and errors: no progress, no notes (warnings still go to stderr)'
            cand --quiet 'Print only results and errors: no progress, no notes (warnings still go to stderr)'
            cand --no-progress 'No progress bars or progress lines (also LLMOPS_NO_PROGRESS=1)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'llmops;rollback'= {
            cand --alias 'The alias to move back'
            cand --to 'The version to move it to [default: the one it pointed to before, from the prod root''s audit log]'
            cand --prod-root 'The prod dataset root (models land in <PROD_ROOT>/llm-models/<parent-run-id>/), or the prod Triton repository'
            cand --artifacts-destination 'The MLflow server''s artifact store, s3://BUCKET[/PREFIX], for mlflow-artifacts:/ runs'
            cand --tracking-uri 'MLflow tracking server, http(s)://host:port'
            cand --output 'Output format: tables for people, or one JSON document on stdout for scripts'
            cand --color 'When to colour the output; `auto` colours a terminal unless NO_COLOR is set'
            cand --dry-run 'Show what would change; change nothing'
            cand -q 'Print only results and errors: no progress, no notes (warnings still go to stderr)'
            cand --quiet 'Print only results and errors: no progress, no notes (warnings still go to stderr)'
            cand --no-progress 'No progress bars or progress lines (also LLMOPS_NO_PROGRESS=1)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'llmops;lineage'= {
            cand --version 'The version, when MODEL is a bare name'
            cand --format 'The graph as text for a review or a wiki, instead of the table'
            cand --prod-root 'Also read the promotions recorded in this prod root''s audit log'
            cand --tracking-uri 'MLflow tracking server, http(s)://host:port'
            cand --output 'Output format: tables for people, or one JSON document on stdout for scripts'
            cand --color 'When to colour the output; `auto` colours a terminal unless NO_COLOR is set'
            cand -q 'Print only results and errors: no progress, no notes (warnings still go to stderr)'
            cand --quiet 'Print only results and errors: no progress, no notes (warnings still go to stderr)'
            cand --no-progress 'No progress bars or progress lines (also LLMOPS_NO_PROGRESS=1)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'llmops;prune'= {
            cand --keep 'Keep the N most recently promoted versions, besides every aliased one'
            cand --prod-root 'The prod dataset root (models land in <PROD_ROOT>/llm-models/<parent-run-id>/), or the prod Triton repository'
            cand --tracking-uri 'MLflow tracking server, http(s)://host:port'
            cand --output 'Output format: tables for people, or one JSON document on stdout for scripts'
            cand --color 'When to colour the output; `auto` colours a terminal unless NO_COLOR is set'
            cand --dry-run 'Show what would be removed; remove nothing'
            cand -q 'Print only results and errors: no progress, no notes (warnings still go to stderr)'
            cand --quiet 'Print only results and errors: no progress, no notes (warnings still go to stderr)'
            cand --no-progress 'No progress bars or progress lines (also LLMOPS_NO_PROGRESS=1)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'llmops;status'= {
            cand --dev-root 'The dev dataset root (binaries are staged at <DEV_ROOT>/llm-models/<parent-run-id>/), or the dev Triton repository'
            cand --prod-root 'The prod dataset root (models land in <PROD_ROOT>/llm-models/<parent-run-id>/), or the prod Triton repository'
            cand --tracking-uri 'MLflow tracking server, http(s)://host:port'
            cand --output 'Output format: tables for people, or one JSON document on stdout for scripts'
            cand --color 'When to colour the output; `auto` colours a terminal unless NO_COLOR is set'
            cand -q 'Print only results and errors: no progress, no notes (warnings still go to stderr)'
            cand --quiet 'Print only results and errors: no progress, no notes (warnings still go to stderr)'
            cand --no-progress 'No progress bars or progress lines (also LLMOPS_NO_PROGRESS=1)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'llmops;verify'= {
            cand --version 'The version, when MODEL is a bare name'
            cand --prod-root 'The prod dataset root (models land in <PROD_ROOT>/llm-models/<parent-run-id>/), or the prod Triton repository'
            cand --tracking-uri 'MLflow tracking server, http(s)://host:port'
            cand --output 'Output format: tables for people, or one JSON document on stdout for scripts'
            cand --color 'When to colour the output; `auto` colours a terminal unless NO_COLOR is set'
            cand -q 'Print only results and errors: no progress, no notes (warnings still go to stderr)'
            cand --quiet 'Print only results and errors: no progress, no notes (warnings still go to stderr)'
            cand --no-progress 'No progress bars or progress lines (also LLMOPS_NO_PROGRESS=1)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'llmops;size'= {
            cand --tracking-uri 'MLflow tracking server, http(s)://host:port'
            cand --artifacts-destination 'The MLflow server''s artifact store, s3://BUCKET[/PREFIX], for mlflow-artifacts:/ runs'
            cand --max-model-len 'Context length(s) to size for, as vLLM reads them (32k, 32K, or auto: the longest that fits); comma-separated for a sweep [default: the config''s]'
            cand --gpu 'GPU(s) from the catalogue, case-insensitive; comma-separated for a sweep [default: H100-80GB]'
            cand --gpu-memory 'Total memory of one GPU as the CUDA runtime reports it, e.g. 79.19GiB or 81559MiB'
            cand --tensor-parallel-size 'GPUs one model is split across'
            cand --tp 'GPUs one model is split across'
            cand --pipeline-parallel-size 'Pipeline stages, each on its own --tensor-parallel-size GPUs; the stage with the fewest KV blocks sets every stage''s'
            cand --pp 'Pipeline stages, each on its own --tensor-parallel-size GPUs; the stage with the fewest KV blocks sets every stage''s'
            cand --data-parallel-size 'Replicas of the model, each on its own --tensor-parallel-size GPUs'
            cand --dp 'Replicas of the model, each on its own --tensor-parallel-size GPUs'
            cand --gpu-memory-utilization 'Fraction of each GPU''s total memory vLLM may use [default: vLLM''s, 0.92 from 0.20, 0.9 before]'
            cand --kv-cache-dtype 'KV cache element type'
            cand --kv-cache-memory-bytes 'KV cache per GPU in bytes, as vLLM''s --kv-cache-memory-bytes (8G = 8 GiB, 8g = 8 GB); replaces --gpu-memory-utilization''s budget'
            cand --dtype 'Weights and activations type; auto follows config.json (float32 checkpoints are served in bfloat16)'
            cand --quantization 'Quantize an unquantized checkpoint as it loads, as vLLM''s --quantization fp8 (linear and expert weights to 1 byte; embeddings and LM head stay)'
            cand --max-num-seqs 'Maximum sequences per step [default: vLLM''s, 1024 on large Hopper/Blackwell GPUs, else 256]'
            cand --max-num-batched-tokens 'Maximum tokens per step [default: vLLM''s, 8192 on large Hopper/Blackwell GPUs, else 2048]'
            cand --cudagraph-mode 'Which CUDA graphs vLLM captures (`cudagraph_mode` in its --compilation-config) [default: FULL_AND_PIECEWISE from vLLM 0.11, PIECEWISE before]'
            cand --max-cudagraph-capture-size 'The largest batch vLLM captures a graph for (its --max-cudagraph-capture-size) [default: 2 × max-num-seqs, at most 512]'
            cand --vllm-version 'The vLLM release whose accounting, defaults and log lines to reproduce, 0.10 to 0.33 (latest = 0.33)'
            cand --lora 'A LoRA adapter to serve on the model: a registered adapter (models:/NAME/V) or an adapter folder (repeatable)'
            cand --max-loras 'vLLM''s --max-loras: adapters in one batch, each a slot on every GPU [default: 1]'
            cand --max-lora-rank 'vLLM''s --max-lora-rank [default: the smallest vLLM accepts that holds every adapter''s rank]'
            cand --against-log 'A real vLLM start-up log: size with the settings it shows (non-default args, defaults, GPU memory, version) and compare each figure it printed; exit 1 when the verdict differs or available KV is off by more than --tolerance'
            cand --tolerance 'With --against-log: how far available KV may be from the log, in percent'
            cand --output 'Output format: tables for people, or one JSON document on stdout for scripts'
            cand --color 'When to colour the output; `auto` colours a terminal unless NO_COLOR is set'
            cand --enable-expert-parallel 'MoE experts spread whole over the tensor × data parallel GPUs, as vLLM''s --enable-expert-parallel'
            cand --enforce-eager 'No CUDA graphs (vLLM''s --enforce-eager)'
            cand -q 'Print only results and errors: no progress, no notes (warnings still go to stderr)'
            cand --quiet 'Print only results and errors: no progress, no notes (warnings still go to stderr)'
            cand --no-progress 'No progress bars or progress lines (also LLMOPS_NO_PROGRESS=1)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'llmops;doctor'= {
            cand --role 'Whose setup to check'
            cand --tracking-uri 'MLflow tracking server, http(s)://host:port'
            cand --artifacts-destination 'The MLflow server''s artifact store, s3://BUCKET[/PREFIX], for mlflow-artifacts:/ runs'
            cand --dev-root 'The dev dataset root (binaries are staged at <DEV_ROOT>/llm-models/<parent-run-id>/), or the dev Triton repository'
            cand --prod-root 'The prod dataset root (models land in <PROD_ROOT>/llm-models/<parent-run-id>/), or the prod Triton repository'
            cand --output 'Output format: tables for people, or one JSON document on stdout for scripts'
            cand --color 'When to colour the output; `auto` colours a terminal unless NO_COLOR is set'
            cand -q 'Print only results and errors: no progress, no notes (warnings still go to stderr)'
            cand --quiet 'Print only results and errors: no progress, no notes (warnings still go to stderr)'
            cand --no-progress 'No progress bars or progress lines (also LLMOPS_NO_PROGRESS=1)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'llmops;config'= {
            cand --output 'Output format: tables for people, or one JSON document on stdout for scripts'
            cand --color 'When to colour the output; `auto` colours a terminal unless NO_COLOR is set'
            cand -q 'Print only results and errors: no progress, no notes (warnings still go to stderr)'
            cand --quiet 'Print only results and errors: no progress, no notes (warnings still go to stderr)'
            cand --no-progress 'No progress bars or progress lines (also LLMOPS_NO_PROGRESS=1)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand show 'Print every setting with its value and source; secrets only as set or not set'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'llmops;config;show'= {
            cand --output 'Output format: tables for people, or one JSON document on stdout for scripts'
            cand --color 'When to colour the output; `auto` colours a terminal unless NO_COLOR is set'
            cand -q 'Print only results and errors: no progress, no notes (warnings still go to stderr)'
            cand --quiet 'Print only results and errors: no progress, no notes (warnings still go to stderr)'
            cand --no-progress 'No progress bars or progress lines (also LLMOPS_NO_PROGRESS=1)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'llmops;config;help'= {
            cand show 'Print every setting with its value and source; secrets only as set or not set'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'llmops;config;help;show'= {
        }
        &'llmops;config;help;help'= {
        }
        &'llmops;generate'= {
            cand --output 'Output format: tables for people, or one JSON document on stdout for scripts'
            cand --color 'When to colour the output; `auto` colours a terminal unless NO_COLOR is set'
            cand -q 'Print only results and errors: no progress, no notes (warnings still go to stderr)'
            cand --quiet 'Print only results and errors: no progress, no notes (warnings still go to stderr)'
            cand --no-progress 'No progress bars or progress lines (also LLMOPS_NO_PROGRESS=1)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand completions 'Shell completion scripts for bash, zsh, fish, powershell and elvish'
            cand man 'Man pages (llmops.1 and one per command)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'llmops;generate;completions'= {
            cand --output 'Output format: tables for people, or one JSON document on stdout for scripts'
            cand --color 'When to colour the output; `auto` colours a terminal unless NO_COLOR is set'
            cand -q 'Print only results and errors: no progress, no notes (warnings still go to stderr)'
            cand --quiet 'Print only results and errors: no progress, no notes (warnings still go to stderr)'
            cand --no-progress 'No progress bars or progress lines (also LLMOPS_NO_PROGRESS=1)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'llmops;generate;man'= {
            cand --output 'Output format: tables for people, or one JSON document on stdout for scripts'
            cand --color 'When to colour the output; `auto` colours a terminal unless NO_COLOR is set'
            cand -q 'Print only results and errors: no progress, no notes (warnings still go to stderr)'
            cand --quiet 'Print only results and errors: no progress, no notes (warnings still go to stderr)'
            cand --no-progress 'No progress bars or progress lines (also LLMOPS_NO_PROGRESS=1)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'llmops;generate;help'= {
            cand completions 'Shell completion scripts for bash, zsh, fish, powershell and elvish'
            cand man 'Man pages (llmops.1 and one per command)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'llmops;generate;help;completions'= {
        }
        &'llmops;generate;help;man'= {
        }
        &'llmops;generate;help;help'= {
        }
        &'llmops;help'= {
            cand register 'Register a model folder in MLflow: parent run with the binaries, dev staging, child pyfunc, version'
            cand publish 'Upload a registered version''s binaries into its parent run, once it is tested'
            cand promote 'Put a registered version''s binaries into the prod dataset, from S3, verified and atomic'
            cand adopt 'Record a manifest for a version registered by another tool, hashed from its bytes in S3'
            cand rollback 'Move an alias back to the version it pointed to before, after checking its prod copy'
            cand lineage 'Where a version came from and where it went: source, runs, datasets, metrics, aliases, promotions'
            cand prune 'Remove prod folders of versions nothing serves: not aliased, not among the N last promoted, no adapter''s base'
            cand status 'Show every version of a registered model: staged in dev, published, promoted, verified'
            cand verify 'Re-hash the prod copy of a version against its manifest'
            cand size 'Predict the GPU memory vLLM will allocate for a model, and whether it fits'
            cand doctor 'Check the setup for a role: tracking server, authentication, AWS credentials, roots, Triton, clock'
            cand config 'Show the resolved configuration: every setting, its value, and where it came from'
            cand generate 'Write shell completions and man pages (for packagers)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'llmops;help;register'= {
        }
        &'llmops;help;publish'= {
        }
        &'llmops;help;promote'= {
        }
        &'llmops;help;adopt'= {
        }
        &'llmops;help;rollback'= {
        }
        &'llmops;help;lineage'= {
        }
        &'llmops;help;prune'= {
        }
        &'llmops;help;status'= {
        }
        &'llmops;help;verify'= {
        }
        &'llmops;help;size'= {
        }
        &'llmops;help;doctor'= {
        }
        &'llmops;help;config'= {
            cand show 'Print every setting with its value and source; secrets only as set or not set'
        }
        &'llmops;help;config;show'= {
        }
        &'llmops;help;generate'= {
            cand completions 'Shell completion scripts for bash, zsh, fish, powershell and elvish'
            cand man 'Man pages (llmops.1 and one per command)'
        }
        &'llmops;help;generate;completions'= {
        }
        &'llmops;help;generate;man'= {
        }
        &'llmops;help;help'= {
        }
    ]
    $completions[$command]
}
