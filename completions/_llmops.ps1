
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'llmops' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'llmops'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'llmops' {
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: tables for people, or one JSON document on stdout for scripts')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output; `auto` colours a terminal unless NO_COLOR is set')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress, no notes (warnings still go to stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress, no notes (warnings still go to stderr)')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'No progress bars or progress lines (also LLMOPS_NO_PROGRESS=1)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('register', 'register', [CompletionResultType]::ParameterValue, 'Register a model folder in MLflow: parent run with the binaries, dev staging, child pyfunc, version')
            [CompletionResult]::new('publish', 'publish', [CompletionResultType]::ParameterValue, 'Upload a registered version''s binaries into its parent run, once it is tested')
            [CompletionResult]::new('promote', 'promote', [CompletionResultType]::ParameterValue, 'Put a registered version''s binaries into the prod dataset, from S3, verified and atomic')
            [CompletionResult]::new('adopt', 'adopt', [CompletionResultType]::ParameterValue, 'Record a manifest for a version registered by another tool, hashed from its bytes in S3')
            [CompletionResult]::new('rollback', 'rollback', [CompletionResultType]::ParameterValue, 'Move an alias back to the version it pointed to before, after checking its prod copy')
            [CompletionResult]::new('lineage', 'lineage', [CompletionResultType]::ParameterValue, 'Where a version came from and where it went: source, runs, datasets, metrics, aliases, promotions')
            [CompletionResult]::new('prune', 'prune', [CompletionResultType]::ParameterValue, 'Remove prod folders of versions nothing serves: not aliased, not among the N last promoted, no adapter''s base')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show every version of a registered model: staged in dev, published, promoted, verified')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Re-hash the prod copy of a version against its manifest')
            [CompletionResult]::new('size', 'size', [CompletionResultType]::ParameterValue, 'Predict the GPU memory vLLM will allocate for a model, and whether it fits')
            [CompletionResult]::new('doctor', 'doctor', [CompletionResultType]::ParameterValue, 'Check the setup for a role: tracking server, authentication, AWS credentials, roots, Triton, clock')
            [CompletionResult]::new('config', 'config', [CompletionResultType]::ParameterValue, 'Show the resolved configuration: every setting, its value, and where it came from')
            [CompletionResult]::new('generate', 'generate', [CompletionResultType]::ParameterValue, 'Write shell completions and man pages (for packagers)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'llmops;register' {
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Registered model name')
            [CompletionResult]::new('--experiment', '--experiment', [CompletionResultType]::ParameterName, 'MLflow experiment for the runs [default: MLFLOW_EXPERIMENT_NAME, else the model name]')
            [CompletionResult]::new('--target', '--target', [CompletionResultType]::ParameterName, 'Where the binaries are served from: the LLM layout, or a Triton model repository')
            [CompletionResult]::new('--client-name', '--client-name', [CompletionResultType]::ParameterName, 'With --target triton: the registered name of the proxy (client) model [default: <NAME>-client]')
            [CompletionResult]::new('--inference-server', '--inference-server', [CompletionResultType]::ParameterName, 'With --target triton: the inference server the proxy routes to (the reference''s inference_server_name)')
            [CompletionResult]::new('--config-pbtxt', '--config-pbtxt', [CompletionResultType]::ParameterName, 'With --target triton: the config.pbtxt to use instead of the folder''s own')
            [CompletionResult]::new('--gpu', '--gpu', [CompletionResultType]::ParameterName, 'Size the model for this GPU and record the verdict on the version (llmops.size.* tags)')
            [CompletionResult]::new('--max-model-len', '--max-model-len', [CompletionResultType]::ParameterName, 'With --gpu: the context length to size for [default: the config''s]')
            [CompletionResult]::new('--dev-root', '--dev-root', [CompletionResultType]::ParameterName, 'The dev dataset root (binaries are staged at <DEV_ROOT>/llm-models/<parent-run-id>/), or the dev Triton repository')
            [CompletionResult]::new('--python-model', '--python-model', [CompletionResultType]::ParameterName, 'Your model-from-code file (it must call mlflow.models.set_model); default: the transformers template')
            [CompletionResult]::new('--template', '--template', [CompletionResultType]::ParameterName, 'A built-in model template')
            [CompletionResult]::new('--pip-requirement', '--pip-requirement', [CompletionResultType]::ParameterName, 'Extra pip requirement for the model''s environment (repeatable)')
            [CompletionResult]::new('--tag', '--tag', [CompletionResultType]::ParameterName, 'Tag for the runs and the version, KEY=VALUE (repeatable)')
            [CompletionResult]::new('--description', '--description', [CompletionResultType]::ParameterName, 'Description of the registered model and version')
            [CompletionResult]::new('--base', '--base', [CompletionResultType]::ParameterName, 'For a LoRA adapter folder: the registered base version it was trained on (models:/NAME/V, models:/NAME@ALIAS)')
            [CompletionResult]::new('--source', '--source', [CompletionResultType]::ParameterName, 'What the model came from: hf://ORG/NAME@REVISION, or an s3://, gs://, http(s):// or models:/ URI [default: read from a Hugging Face cache snapshot''s path or config.json''s _name_or_path]')
            [CompletionResult]::new('--training-run', '--training-run', [CompletionResultType]::ParameterName, 'The MLflow run that trained the model; `llmops lineage` follows it and promotion gates read its metrics')
            [CompletionResult]::new('--dataset', '--dataset', [CompletionResultType]::ParameterName, 'A dataset the model was trained on, NAME=URI (s3://, gs://, hf://ORG/NAME@REVISION, http(s)://, /path), logged as an input of the parent run (repeatable)')
            [CompletionResult]::new('--tracking-uri', '--tracking-uri', [CompletionResultType]::ParameterName, 'MLflow tracking server, http(s)://host:port')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: tables for people, or one JSON document on stdout for scripts')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output; `auto` colours a terminal unless NO_COLOR is set')
            [CompletionResult]::new('--publish', '--publish', [CompletionResultType]::ParameterName, 'Also upload the binaries into the parent run now (otherwise run `llmops publish` later)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress, no notes (warnings still go to stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress, no notes (warnings still go to stderr)')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'No progress bars or progress lines (also LLMOPS_NO_PROGRESS=1)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'llmops;publish' {
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'The version, when MODEL is a bare name')
            [CompletionResult]::new('--dev-root', '--dev-root', [CompletionResultType]::ParameterName, 'The dev dataset root (binaries are staged at <DEV_ROOT>/llm-models/<parent-run-id>/), or the dev Triton repository')
            [CompletionResult]::new('--tracking-uri', '--tracking-uri', [CompletionResultType]::ParameterName, 'MLflow tracking server, http(s)://host:port')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: tables for people, or one JSON document on stdout for scripts')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output; `auto` colours a terminal unless NO_COLOR is set')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress, no notes (warnings still go to stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress, no notes (warnings still go to stderr)')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'No progress bars or progress lines (also LLMOPS_NO_PROGRESS=1)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'llmops;promote' {
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'The version, when MODEL is a bare name')
            [CompletionResult]::new('--prod-root', '--prod-root', [CompletionResultType]::ParameterName, 'The prod dataset root (models land in <PROD_ROOT>/llm-models/<parent-run-id>/), or the prod Triton repository')
            [CompletionResult]::new('--artifacts-destination', '--artifacts-destination', [CompletionResultType]::ParameterName, 'The MLflow server''s artifact store, s3://BUCKET[/PREFIX], for mlflow-artifacts:/ runs')
            [CompletionResult]::new('--alias', '--alias', [CompletionResultType]::ParameterName, 'Move this alias to the promoted version')
            [CompletionResult]::new('--require', '--require', [CompletionResultType]::ParameterName, 'A gate the version must pass before anything is downloaded: ''metric:<key> >= <number>'' (also <=, >, <, ==) or ''tag:<key>=<value>'' (repeatable)')
            [CompletionResult]::new('--require-better-than', '--require-better-than', [CompletionResultType]::ParameterName, 'The version''s metric must beat the one of the version holding the alias now: ''@<alias>:<metric>'' (append '':lower'' when lower is better)')
            [CompletionResult]::new('--target', '--target', [CompletionResultType]::ParameterName, 'Where the binaries are served from (for Triton, --prod-root is the model repository)')
            [CompletionResult]::new('--gpu', '--gpu', [CompletionResultType]::ParameterName, 'With --require-fit: the GPU the endpoint runs on')
            [CompletionResult]::new('--max-model-len', '--max-model-len', [CompletionResultType]::ParameterName, 'With --require-fit: the context length the endpoint serves [default: the config''s]')
            [CompletionResult]::new('--tensor-parallel-size', '--tensor-parallel-size', [CompletionResultType]::ParameterName, 'With --require-fit: GPUs per endpoint')
            [CompletionResult]::new('--triton-url', '--triton-url', [CompletionResultType]::ParameterName, 'With --target triton: Triton''s HTTP address, for --load')
            [CompletionResult]::new('--load-timeout', '--load-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for Triton to report the version ready [default: 120]')
            [CompletionResult]::new('--concurrency', '--concurrency', [CompletionResultType]::ParameterName, 'Requests in flight [default: 32]')
            [CompletionResult]::new('--part-size', '--part-size', [CompletionResultType]::ParameterName, 'Objects larger than this are fetched in ranged parts of this size [default: 64MiB]')
            [CompletionResult]::new('--stall-timeout', '--stall-timeout', [CompletionResultType]::ParameterName, 'Seconds without a byte before a read is retried [default: 30]')
            [CompletionResult]::new('--tracking-uri', '--tracking-uri', [CompletionResultType]::ParameterName, 'MLflow tracking server, http(s)://host:port')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: tables for people, or one JSON document on stdout for scripts')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output; `auto` colours a terminal unless NO_COLOR is set')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Show the caller, the source, the files and the destination; download nothing')
            [CompletionResult]::new('--allow-unverified', '--allow-unverified', [CompletionResultType]::ParameterName, 'Promote even when no manifest recorded at registration vouches for the files (a version registered by another tool, or whose manifest is gone): sizes and ETags only, said in the audit tags')
            [CompletionResult]::new('--no-base', '--no-base', [CompletionResultType]::ParameterName, 'For a LoRA adapter: refuse, rather than promote its base first, when the base is not in prod')
            [CompletionResult]::new('--require-fit', '--require-fit', [CompletionResultType]::ParameterName, 'Refuse to promote a model that will not start on --gpu with --max-model-len (sized from the published safetensors headers, without downloading the tensors)')
            [CompletionResult]::new('--load', '--load', [CompletionResultType]::ParameterName, 'With --target triton: ask Triton to load the version, and wait until it is ready')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress, no notes (warnings still go to stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress, no notes (warnings still go to stderr)')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'No progress bars or progress lines (also LLMOPS_NO_PROGRESS=1)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'llmops;adopt' {
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'The version, when MODEL is a bare name')
            [CompletionResult]::new('--artifacts-destination', '--artifacts-destination', [CompletionResultType]::ParameterName, 'The MLflow server''s artifact store, s3://BUCKET[/PREFIX], for mlflow-artifacts:/ runs')
            [CompletionResult]::new('--tracking-uri', '--tracking-uri', [CompletionResultType]::ParameterName, 'MLflow tracking server, http(s)://host:port')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: tables for people, or one JSON document on stdout for scripts')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output; `auto` colours a terminal unless NO_COLOR is set')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Hash the bytes and show the manifest''s digest; record nothing')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress, no notes (warnings still go to stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress, no notes (warnings still go to stderr)')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'No progress bars or progress lines (also LLMOPS_NO_PROGRESS=1)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'llmops;rollback' {
            [CompletionResult]::new('--alias', '--alias', [CompletionResultType]::ParameterName, 'The alias to move back')
            [CompletionResult]::new('--to', '--to', [CompletionResultType]::ParameterName, 'The version to move it to [default: the one it pointed to before, from the prod root''s audit log]')
            [CompletionResult]::new('--prod-root', '--prod-root', [CompletionResultType]::ParameterName, 'The prod dataset root (models land in <PROD_ROOT>/llm-models/<parent-run-id>/), or the prod Triton repository')
            [CompletionResult]::new('--artifacts-destination', '--artifacts-destination', [CompletionResultType]::ParameterName, 'The MLflow server''s artifact store, s3://BUCKET[/PREFIX], for mlflow-artifacts:/ runs')
            [CompletionResult]::new('--tracking-uri', '--tracking-uri', [CompletionResultType]::ParameterName, 'MLflow tracking server, http(s)://host:port')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: tables for people, or one JSON document on stdout for scripts')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output; `auto` colours a terminal unless NO_COLOR is set')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Show what would change; change nothing')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress, no notes (warnings still go to stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress, no notes (warnings still go to stderr)')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'No progress bars or progress lines (also LLMOPS_NO_PROGRESS=1)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'llmops;lineage' {
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'The version, when MODEL is a bare name')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'The graph as text for a review or a wiki, instead of the table')
            [CompletionResult]::new('--prod-root', '--prod-root', [CompletionResultType]::ParameterName, 'Also read the promotions recorded in this prod root''s audit log')
            [CompletionResult]::new('--tracking-uri', '--tracking-uri', [CompletionResultType]::ParameterName, 'MLflow tracking server, http(s)://host:port')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: tables for people, or one JSON document on stdout for scripts')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output; `auto` colours a terminal unless NO_COLOR is set')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress, no notes (warnings still go to stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress, no notes (warnings still go to stderr)')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'No progress bars or progress lines (also LLMOPS_NO_PROGRESS=1)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'llmops;prune' {
            [CompletionResult]::new('--keep', '--keep', [CompletionResultType]::ParameterName, 'Keep the N most recently promoted versions, besides every aliased one')
            [CompletionResult]::new('--prod-root', '--prod-root', [CompletionResultType]::ParameterName, 'The prod dataset root (models land in <PROD_ROOT>/llm-models/<parent-run-id>/), or the prod Triton repository')
            [CompletionResult]::new('--tracking-uri', '--tracking-uri', [CompletionResultType]::ParameterName, 'MLflow tracking server, http(s)://host:port')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: tables for people, or one JSON document on stdout for scripts')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output; `auto` colours a terminal unless NO_COLOR is set')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Show what would be removed; remove nothing')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress, no notes (warnings still go to stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress, no notes (warnings still go to stderr)')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'No progress bars or progress lines (also LLMOPS_NO_PROGRESS=1)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'llmops;status' {
            [CompletionResult]::new('--dev-root', '--dev-root', [CompletionResultType]::ParameterName, 'The dev dataset root (binaries are staged at <DEV_ROOT>/llm-models/<parent-run-id>/), or the dev Triton repository')
            [CompletionResult]::new('--prod-root', '--prod-root', [CompletionResultType]::ParameterName, 'The prod dataset root (models land in <PROD_ROOT>/llm-models/<parent-run-id>/), or the prod Triton repository')
            [CompletionResult]::new('--tracking-uri', '--tracking-uri', [CompletionResultType]::ParameterName, 'MLflow tracking server, http(s)://host:port')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: tables for people, or one JSON document on stdout for scripts')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output; `auto` colours a terminal unless NO_COLOR is set')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress, no notes (warnings still go to stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress, no notes (warnings still go to stderr)')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'No progress bars or progress lines (also LLMOPS_NO_PROGRESS=1)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'llmops;verify' {
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'The version, when MODEL is a bare name')
            [CompletionResult]::new('--prod-root', '--prod-root', [CompletionResultType]::ParameterName, 'The prod dataset root (models land in <PROD_ROOT>/llm-models/<parent-run-id>/), or the prod Triton repository')
            [CompletionResult]::new('--tracking-uri', '--tracking-uri', [CompletionResultType]::ParameterName, 'MLflow tracking server, http(s)://host:port')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: tables for people, or one JSON document on stdout for scripts')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output; `auto` colours a terminal unless NO_COLOR is set')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress, no notes (warnings still go to stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress, no notes (warnings still go to stderr)')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'No progress bars or progress lines (also LLMOPS_NO_PROGRESS=1)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'llmops;size' {
            [CompletionResult]::new('--tracking-uri', '--tracking-uri', [CompletionResultType]::ParameterName, 'MLflow tracking server, http(s)://host:port')
            [CompletionResult]::new('--artifacts-destination', '--artifacts-destination', [CompletionResultType]::ParameterName, 'The MLflow server''s artifact store, s3://BUCKET[/PREFIX], for mlflow-artifacts:/ runs')
            [CompletionResult]::new('--max-model-len', '--max-model-len', [CompletionResultType]::ParameterName, 'Context length(s) to size for, as vLLM reads them (32k, 32K, or auto: the longest that fits); comma-separated for a sweep [default: the config''s]')
            [CompletionResult]::new('--gpu', '--gpu', [CompletionResultType]::ParameterName, 'GPU(s) from the catalogue, case-insensitive; comma-separated for a sweep [default: H100-80GB]')
            [CompletionResult]::new('--gpu-memory', '--gpu-memory', [CompletionResultType]::ParameterName, 'Total memory of one GPU as the CUDA runtime reports it, e.g. 79.19GiB or 81559MiB')
            [CompletionResult]::new('--tensor-parallel-size', '--tensor-parallel-size', [CompletionResultType]::ParameterName, 'GPUs one model is split across')
            [CompletionResult]::new('--tp', '--tp', [CompletionResultType]::ParameterName, 'GPUs one model is split across')
            [CompletionResult]::new('--pipeline-parallel-size', '--pipeline-parallel-size', [CompletionResultType]::ParameterName, 'Pipeline stages, each on its own --tensor-parallel-size GPUs; the stage with the fewest KV blocks sets every stage''s')
            [CompletionResult]::new('--pp', '--pp', [CompletionResultType]::ParameterName, 'Pipeline stages, each on its own --tensor-parallel-size GPUs; the stage with the fewest KV blocks sets every stage''s')
            [CompletionResult]::new('--data-parallel-size', '--data-parallel-size', [CompletionResultType]::ParameterName, 'Replicas of the model, each on its own --tensor-parallel-size GPUs')
            [CompletionResult]::new('--dp', '--dp', [CompletionResultType]::ParameterName, 'Replicas of the model, each on its own --tensor-parallel-size GPUs')
            [CompletionResult]::new('--gpu-memory-utilization', '--gpu-memory-utilization', [CompletionResultType]::ParameterName, 'Fraction of each GPU''s total memory vLLM may use [default: vLLM''s, 0.92 from 0.20, 0.9 before]')
            [CompletionResult]::new('--kv-cache-dtype', '--kv-cache-dtype', [CompletionResultType]::ParameterName, 'KV cache element type')
            [CompletionResult]::new('--kv-cache-memory-bytes', '--kv-cache-memory-bytes', [CompletionResultType]::ParameterName, 'KV cache per GPU in bytes, as vLLM''s --kv-cache-memory-bytes (8G = 8 GiB, 8g = 8 GB); replaces --gpu-memory-utilization''s budget')
            [CompletionResult]::new('--dtype', '--dtype', [CompletionResultType]::ParameterName, 'Weights and activations type; auto follows config.json (float32 checkpoints are served in bfloat16)')
            [CompletionResult]::new('--quantization', '--quantization', [CompletionResultType]::ParameterName, 'Quantize an unquantized checkpoint as it loads, as vLLM''s --quantization fp8 (linear and expert weights to 1 byte; embeddings and LM head stay)')
            [CompletionResult]::new('--max-num-seqs', '--max-num-seqs', [CompletionResultType]::ParameterName, 'Maximum sequences per step [default: vLLM''s, 1024 on large Hopper/Blackwell GPUs, else 256]')
            [CompletionResult]::new('--max-num-batched-tokens', '--max-num-batched-tokens', [CompletionResultType]::ParameterName, 'Maximum tokens per step [default: vLLM''s, 8192 on large Hopper/Blackwell GPUs, else 2048]')
            [CompletionResult]::new('--cudagraph-mode', '--cudagraph-mode', [CompletionResultType]::ParameterName, 'Which CUDA graphs vLLM captures (`cudagraph_mode` in its --compilation-config) [default: FULL_AND_PIECEWISE from vLLM 0.11, PIECEWISE before]')
            [CompletionResult]::new('--max-cudagraph-capture-size', '--max-cudagraph-capture-size', [CompletionResultType]::ParameterName, 'The largest batch vLLM captures a graph for (its --max-cudagraph-capture-size) [default: 2 × max-num-seqs, at most 512]')
            [CompletionResult]::new('--vllm-version', '--vllm-version', [CompletionResultType]::ParameterName, 'The vLLM release whose accounting, defaults and log lines to reproduce, 0.10 to 0.33 (latest = 0.33)')
            [CompletionResult]::new('--lora', '--lora', [CompletionResultType]::ParameterName, 'A LoRA adapter to serve on the model: a registered adapter (models:/NAME/V) or an adapter folder (repeatable)')
            [CompletionResult]::new('--max-loras', '--max-loras', [CompletionResultType]::ParameterName, 'vLLM''s --max-loras: adapters in one batch, each a slot on every GPU [default: 1]')
            [CompletionResult]::new('--max-lora-rank', '--max-lora-rank', [CompletionResultType]::ParameterName, 'vLLM''s --max-lora-rank [default: the smallest vLLM accepts that holds every adapter''s rank]')
            [CompletionResult]::new('--against-log', '--against-log', [CompletionResultType]::ParameterName, 'A real vLLM start-up log: size with the settings it shows (non-default args, defaults, GPU memory, version) and compare each figure it printed; exit 1 when the verdict differs or available KV is off by more than --tolerance')
            [CompletionResult]::new('--tolerance', '--tolerance', [CompletionResultType]::ParameterName, 'With --against-log: how far available KV may be from the log, in percent')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: tables for people, or one JSON document on stdout for scripts')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output; `auto` colours a terminal unless NO_COLOR is set')
            [CompletionResult]::new('--enable-expert-parallel', '--enable-expert-parallel', [CompletionResultType]::ParameterName, 'MoE experts spread whole over the tensor × data parallel GPUs, as vLLM''s --enable-expert-parallel')
            [CompletionResult]::new('--enforce-eager', '--enforce-eager', [CompletionResultType]::ParameterName, 'No CUDA graphs (vLLM''s --enforce-eager)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress, no notes (warnings still go to stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress, no notes (warnings still go to stderr)')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'No progress bars or progress lines (also LLMOPS_NO_PROGRESS=1)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'llmops;doctor' {
            [CompletionResult]::new('--role', '--role', [CompletionResultType]::ParameterName, 'Whose setup to check')
            [CompletionResult]::new('--tracking-uri', '--tracking-uri', [CompletionResultType]::ParameterName, 'MLflow tracking server, http(s)://host:port')
            [CompletionResult]::new('--artifacts-destination', '--artifacts-destination', [CompletionResultType]::ParameterName, 'The MLflow server''s artifact store, s3://BUCKET[/PREFIX], for mlflow-artifacts:/ runs')
            [CompletionResult]::new('--dev-root', '--dev-root', [CompletionResultType]::ParameterName, 'The dev dataset root (binaries are staged at <DEV_ROOT>/llm-models/<parent-run-id>/), or the dev Triton repository')
            [CompletionResult]::new('--prod-root', '--prod-root', [CompletionResultType]::ParameterName, 'The prod dataset root (models land in <PROD_ROOT>/llm-models/<parent-run-id>/), or the prod Triton repository')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: tables for people, or one JSON document on stdout for scripts')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output; `auto` colours a terminal unless NO_COLOR is set')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress, no notes (warnings still go to stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress, no notes (warnings still go to stderr)')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'No progress bars or progress lines (also LLMOPS_NO_PROGRESS=1)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'llmops;config' {
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: tables for people, or one JSON document on stdout for scripts')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output; `auto` colours a terminal unless NO_COLOR is set')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress, no notes (warnings still go to stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress, no notes (warnings still go to stderr)')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'No progress bars or progress lines (also LLMOPS_NO_PROGRESS=1)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Print every setting with its value and source; secrets only as set or not set')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'llmops;config;show' {
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: tables for people, or one JSON document on stdout for scripts')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output; `auto` colours a terminal unless NO_COLOR is set')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress, no notes (warnings still go to stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress, no notes (warnings still go to stderr)')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'No progress bars or progress lines (also LLMOPS_NO_PROGRESS=1)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'llmops;config;help' {
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Print every setting with its value and source; secrets only as set or not set')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'llmops;config;help;show' {
            break
        }
        'llmops;config;help;help' {
            break
        }
        'llmops;generate' {
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: tables for people, or one JSON document on stdout for scripts')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output; `auto` colours a terminal unless NO_COLOR is set')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress, no notes (warnings still go to stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress, no notes (warnings still go to stderr)')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'No progress bars or progress lines (also LLMOPS_NO_PROGRESS=1)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Shell completion scripts for bash, zsh, fish, powershell and elvish')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Man pages (llmops.1 and one per command)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'llmops;generate;completions' {
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: tables for people, or one JSON document on stdout for scripts')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output; `auto` colours a terminal unless NO_COLOR is set')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress, no notes (warnings still go to stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress, no notes (warnings still go to stderr)')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'No progress bars or progress lines (also LLMOPS_NO_PROGRESS=1)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'llmops;generate;man' {
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: tables for people, or one JSON document on stdout for scripts')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output; `auto` colours a terminal unless NO_COLOR is set')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress, no notes (warnings still go to stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress, no notes (warnings still go to stderr)')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'No progress bars or progress lines (also LLMOPS_NO_PROGRESS=1)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'llmops;generate;help' {
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Shell completion scripts for bash, zsh, fish, powershell and elvish')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Man pages (llmops.1 and one per command)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'llmops;generate;help;completions' {
            break
        }
        'llmops;generate;help;man' {
            break
        }
        'llmops;generate;help;help' {
            break
        }
        'llmops;help' {
            [CompletionResult]::new('register', 'register', [CompletionResultType]::ParameterValue, 'Register a model folder in MLflow: parent run with the binaries, dev staging, child pyfunc, version')
            [CompletionResult]::new('publish', 'publish', [CompletionResultType]::ParameterValue, 'Upload a registered version''s binaries into its parent run, once it is tested')
            [CompletionResult]::new('promote', 'promote', [CompletionResultType]::ParameterValue, 'Put a registered version''s binaries into the prod dataset, from S3, verified and atomic')
            [CompletionResult]::new('adopt', 'adopt', [CompletionResultType]::ParameterValue, 'Record a manifest for a version registered by another tool, hashed from its bytes in S3')
            [CompletionResult]::new('rollback', 'rollback', [CompletionResultType]::ParameterValue, 'Move an alias back to the version it pointed to before, after checking its prod copy')
            [CompletionResult]::new('lineage', 'lineage', [CompletionResultType]::ParameterValue, 'Where a version came from and where it went: source, runs, datasets, metrics, aliases, promotions')
            [CompletionResult]::new('prune', 'prune', [CompletionResultType]::ParameterValue, 'Remove prod folders of versions nothing serves: not aliased, not among the N last promoted, no adapter''s base')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show every version of a registered model: staged in dev, published, promoted, verified')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Re-hash the prod copy of a version against its manifest')
            [CompletionResult]::new('size', 'size', [CompletionResultType]::ParameterValue, 'Predict the GPU memory vLLM will allocate for a model, and whether it fits')
            [CompletionResult]::new('doctor', 'doctor', [CompletionResultType]::ParameterValue, 'Check the setup for a role: tracking server, authentication, AWS credentials, roots, Triton, clock')
            [CompletionResult]::new('config', 'config', [CompletionResultType]::ParameterValue, 'Show the resolved configuration: every setting, its value, and where it came from')
            [CompletionResult]::new('generate', 'generate', [CompletionResultType]::ParameterValue, 'Write shell completions and man pages (for packagers)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'llmops;help;register' {
            break
        }
        'llmops;help;publish' {
            break
        }
        'llmops;help;promote' {
            break
        }
        'llmops;help;adopt' {
            break
        }
        'llmops;help;rollback' {
            break
        }
        'llmops;help;lineage' {
            break
        }
        'llmops;help;prune' {
            break
        }
        'llmops;help;status' {
            break
        }
        'llmops;help;verify' {
            break
        }
        'llmops;help;size' {
            break
        }
        'llmops;help;doctor' {
            break
        }
        'llmops;help;config' {
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Print every setting with its value and source; secrets only as set or not set')
            break
        }
        'llmops;help;config;show' {
            break
        }
        'llmops;help;generate' {
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Shell completion scripts for bash, zsh, fish, powershell and elvish')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Man pages (llmops.1 and one per command)')
            break
        }
        'llmops;help;generate;completions' {
            break
        }
        'llmops;help;generate;man' {
            break
        }
        'llmops;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
