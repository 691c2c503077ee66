# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_llmops_global_optspecs
    string join \n output= q/quiet no-progress color= h/help V/version
end

function __fish_llmops_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_llmops_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_llmops_using_subcommand
    set -l cmd (__fish_llmops_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c llmops -n "__fish_llmops_needs_command" -l output -d 'Output format: tables for people, or one JSON document on stdout for scripts' -r -f -a "table\t'Tables for people'
json\t'One JSON document on stdout, for scripts'"
complete -c llmops -n "__fish_llmops_needs_command" -l color -d 'When to colour the output; `auto` colours a terminal unless NO_COLOR is set' -r -f -a "auto\t''
always\t''
never\t''"
complete -c llmops -n "__fish_llmops_needs_command" -s q -l quiet -d 'Print only results and errors: no progress, no notes (warnings still go to stderr)'
complete -c llmops -n "__fish_llmops_needs_command" -l no-progress -d 'No progress bars or progress lines (also LLMOPS_NO_PROGRESS=1)'
complete -c llmops -n "__fish_llmops_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c llmops -n "__fish_llmops_needs_command" -s V -l version -d 'Print version'
complete -c llmops -n "__fish_llmops_needs_command" -f -a "register" -d 'Register a model folder in MLflow: parent run with the binaries, dev staging, child pyfunc, version'
complete -c llmops -n "__fish_llmops_needs_command" -f -a "publish" -d 'Upload a registered version\'s binaries into its parent run, once it is tested'
complete -c llmops -n "__fish_llmops_needs_command" -f -a "promote" -d 'Put a registered version\'s binaries into the prod dataset, from S3, verified and atomic'
complete -c llmops -n "__fish_llmops_needs_command" -f -a "adopt" -d 'Record a manifest for a version registered by another tool, hashed from its bytes in S3'
complete -c llmops -n "__fish_llmops_needs_command" -f -a "rollback" -d 'Move an alias back to the version it pointed to before, after checking its prod copy'
complete -c llmops -n "__fish_llmops_needs_command" -f -a "lineage" -d 'Where a version came from and where it went: source, runs, datasets, metrics, aliases, promotions'
complete -c llmops -n "__fish_llmops_needs_command" -f -a "prune" -d 'Remove prod folders of versions nothing serves: not aliased, not among the N last promoted, no adapter\'s base'
complete -c llmops -n "__fish_llmops_needs_command" -f -a "status" -d 'Show every version of a registered model: staged in dev, published, promoted, verified'
complete -c llmops -n "__fish_llmops_needs_command" -f -a "verify" -d 'Re-hash the prod copy of a version against its manifest'
complete -c llmops -n "__fish_llmops_needs_command" -f -a "size" -d 'Predict the GPU memory vLLM will allocate for a model, and whether it fits'
complete -c llmops -n "__fish_llmops_needs_command" -f -a "doctor" -d 'Check the setup for a role: tracking server, authentication, AWS credentials, roots, Triton, clock'
complete -c llmops -n "__fish_llmops_needs_command" -f -a "config" -d 'Show the resolved configuration: every setting, its value, and where it came from'
complete -c llmops -n "__fish_llmops_needs_command" -f -a "generate" -d 'Write shell completions and man pages (for packagers)'
complete -c llmops -n "__fish_llmops_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c llmops -n "__fish_llmops_using_subcommand register" -l name -d 'Registered model name' -r
complete -c llmops -n "__fish_llmops_using_subcommand register" -l experiment -d 'MLflow experiment for the runs [default: MLFLOW_EXPERIMENT_NAME, else the model name]' -r
complete -c llmops -n "__fish_llmops_using_subcommand register" -l target -d 'Where the binaries are served from: the LLM layout, or a Triton model repository' -r -f -a "llm\t'<root>/llm-models/<parent-run-id>/ (vLLM, transformers); --dev-root/--prod-root are dataset roots'
triton\t'<repo>/<model>/config.pbtxt and <repo>/<model>/<version>/; --dev-root/--prod-root are Triton repositories'"
complete -c llmops -n "__fish_llmops_using_subcommand register" -l client-name -d 'With --target triton: the registered name of the proxy (client) model [default: <NAME>-client]' -r
complete -c llmops -n "__fish_llmops_using_subcommand register" -l inference-server -d 'With --target triton: the inference server the proxy routes to (the reference\'s inference_server_name)' -r
complete -c llmops -n "__fish_llmops_using_subcommand register" -l config-pbtxt -d 'With --target triton: the config.pbtxt to use instead of the folder\'s own' -r -F
complete -c llmops -n "__fish_llmops_using_subcommand register" -l gpu -d 'Size the model for this GPU and record the verdict on the version (llmops.size.* tags)' -r
complete -c llmops -n "__fish_llmops_using_subcommand register" -l max-model-len -d 'With --gpu: the context length to size for [default: the config\'s]' -r
complete -c llmops -n "__fish_llmops_using_subcommand register" -l dev-root -d 'The dev dataset root (binaries are staged at <DEV_ROOT>/llm-models/<parent-run-id>/), or the dev Triton repository' -r -F
complete -c llmops -n "__fish_llmops_using_subcommand register" -l python-model -d 'Your model-from-code file (it must call mlflow.models.set_model); default: the transformers template' -r -F
complete -c llmops -n "__fish_llmops_using_subcommand register" -l template -d 'A built-in model template' -r -f -a "transformers\t'A text-generation pipeline over $LOCAL_ROOT_FOLDER/llm-models/<run_id>'
triton\t'A proxy that forwards KServe v2 infer bodies to Triton (the default with --target triton)'"
complete -c llmops -n "__fish_llmops_using_subcommand register" -l pip-requirement -d 'Extra pip requirement for the model\'s environment (repeatable)' -r
complete -c llmops -n "__fish_llmops_using_subcommand register" -l tag -d 'Tag for the runs and the version, KEY=VALUE (repeatable)' -r
complete -c llmops -n "__fish_llmops_using_subcommand register" -l description -d 'Description of the registered model and version' -r
complete -c llmops -n "__fish_llmops_using_subcommand register" -l base -d 'For a LoRA adapter folder: the registered base version it was trained on (models:/NAME/V, models:/NAME@ALIAS)' -r
complete -c llmops -n "__fish_llmops_using_subcommand register" -l source -d 'What the model came from: hf://ORG/NAME@REVISION, or an s3://, gs://, http(s):// or models:/ URI [default: read from a Hugging Face cache snapshot\'s path or config.json\'s _name_or_path]' -r
complete -c llmops -n "__fish_llmops_using_subcommand register" -l training-run -d 'The MLflow run that trained the model; `llmops lineage` follows it and promotion gates read its metrics' -r
complete -c llmops -n "__fish_llmops_using_subcommand register" -l dataset -d 'A dataset the model was trained on, NAME=URI (s3://, gs://, hf://ORG/NAME@REVISION, http(s)://, /path), logged as an input of the parent run (repeatable)' -r
complete -c llmops -n "__fish_llmops_using_subcommand register" -l tracking-uri -d 'MLflow tracking server, http(s)://host:port' -r
complete -c llmops -n "__fish_llmops_using_subcommand register" -l output -d 'Output format: tables for people, or one JSON document on stdout for scripts' -r -f -a "table\t'Tables for people'
json\t'One JSON document on stdout, for scripts'"
complete -c llmops -n "__fish_llmops_using_subcommand register" -l color -d 'When to colour the output; `auto` colours a terminal unless NO_COLOR is set' -r -f -a "auto\t''
always\t''
never\t''"
complete -c llmops -n "__fish_llmops_using_subcommand register" -l publish -d 'Also upload the binaries into the parent run now (otherwise run `llmops publish` later)'
complete -c llmops -n "__fish_llmops_using_subcommand register" -s q -l quiet -d 'Print only results and errors: no progress, no notes (warnings still go to stderr)'
complete -c llmops -n "__fish_llmops_using_subcommand register" -l no-progress -d 'No progress bars or progress lines (also LLMOPS_NO_PROGRESS=1)'
complete -c llmops -n "__fish_llmops_using_subcommand register" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c llmops -n "__fish_llmops_using_subcommand publish" -l version -d 'The version, when MODEL is a bare name' -r
complete -c llmops -n "__fish_llmops_using_subcommand publish" -l dev-root -d 'The dev dataset root (binaries are staged at <DEV_ROOT>/llm-models/<parent-run-id>/), or the dev Triton repository' -r -F
complete -c llmops -n "__fish_llmops_using_subcommand publish" -l tracking-uri -d 'MLflow tracking server, http(s)://host:port' -r
complete -c llmops -n "__fish_llmops_using_subcommand publish" -l output -d 'Output format: tables for people, or one JSON document on stdout for scripts' -r -f -a "table\t'Tables for people'
json\t'One JSON document on stdout, for scripts'"
complete -c llmops -n "__fish_llmops_using_subcommand publish" -l color -d 'When to colour the output; `auto` colours a terminal unless NO_COLOR is set' -r -f -a "auto\t''
always\t''
never\t''"
complete -c llmops -n "__fish_llmops_using_subcommand publish" -s q -l quiet -d 'Print only results and errors: no progress, no notes (warnings still go to stderr)'
complete -c llmops -n "__fish_llmops_using_subcommand publish" -l no-progress -d 'No progress bars or progress lines (also LLMOPS_NO_PROGRESS=1)'
complete -c llmops -n "__fish_llmops_using_subcommand publish" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c llmops -n "__fish_llmops_using_subcommand promote" -l version -d 'The version, when MODEL is a bare name' -r
complete -c llmops -n "__fish_llmops_using_subcommand promote" -l prod-root -d 'The prod dataset root (models land in <PROD_ROOT>/llm-models/<parent-run-id>/), or the prod Triton repository' -r -F
complete -c llmops -n "__fish_llmops_using_subcommand promote" -l artifacts-destination -d 'The MLflow server\'s artifact store, s3://BUCKET[/PREFIX], for mlflow-artifacts:/ runs' -r
complete -c llmops -n "__fish_llmops_using_subcommand promote" -l alias -d 'Move this alias to the promoted version' -r
complete -c llmops -n "__fish_llmops_using_subcommand promote" -l require -d 'A gate the version must pass before anything is downloaded: \'metric:<key> >= <number>\' (also <=, >, <, ==) or \'tag:<key>=<value>\' (repeatable)' -r
complete -c llmops -n "__fish_llmops_using_subcommand promote" -l require-better-than -d 'The version\'s metric must beat the one of the version holding the alias now: \'@<alias>:<metric>\' (append \':lower\' when lower is better)' -r
complete -c llmops -n "__fish_llmops_using_subcommand promote" -l target -d 'Where the binaries are served from (for Triton, --prod-root is the model repository)' -r -f -a "llm\t'<root>/llm-models/<parent-run-id>/ (vLLM, transformers); --dev-root/--prod-root are dataset roots'
triton\t'<repo>/<model>/config.pbtxt and <repo>/<model>/<version>/; --dev-root/--prod-root are Triton repositories'"
complete -c llmops -n "__fish_llmops_using_subcommand promote" -l gpu -d 'With --require-fit: the GPU the endpoint runs on' -r
complete -c llmops -n "__fish_llmops_using_subcommand promote" -l max-model-len -d 'With --require-fit: the context length the endpoint serves [default: the config\'s]' -r
complete -c llmops -n "__fish_llmops_using_subcommand promote" -l tensor-parallel-size -d 'With --require-fit: GPUs per endpoint' -r
complete -c llmops -n "__fish_llmops_using_subcommand promote" -l triton-url -d 'With --target triton: Triton\'s HTTP address, for --load' -r
complete -c llmops -n "__fish_llmops_using_subcommand promote" -l load-timeout -d 'Seconds to wait for Triton to report the version ready [default: 120]' -r
complete -c llmops -n "__fish_llmops_using_subcommand promote" -l concurrency -d 'Requests in flight [default: 32]' -r
complete -c llmops -n "__fish_llmops_using_subcommand promote" -l part-size -d 'Objects larger than this are fetched in ranged parts of this size [default: 64MiB]' -r
complete -c llmops -n "__fish_llmops_using_subcommand promote" -l stall-timeout -d 'Seconds without a byte before a read is retried [default: 30]' -r
complete -c llmops -n "__fish_llmops_using_subcommand promote" -l tracking-uri -d 'MLflow tracking server, http(s)://host:port' -r
complete -c llmops -n "__fish_llmops_using_subcommand promote" -l output -d 'Output format: tables for people, or one JSON document on stdout for scripts' -r -f -a "table\t'Tables for people'
json\t'One JSON document on stdout, for scripts'"
complete -c llmops -n "__fish_llmops_using_subcommand promote" -l color -d 'When to colour the output; `auto` colours a terminal unless NO_COLOR is set' -r -f -a "auto\t''
always\t''
never\t''"
complete -c llmops -n "__fish_llmops_using_subcommand promote" -l dry-run -d 'Show the caller, the source, the files and the destination; download nothing'
complete -c llmops -n "__fish_llmops_using_subcommand promote" -l allow-unverified -d 'Promote even when no manifest recorded at registration vouches for the files (a version registered by another tool, or whose manifest is gone): sizes and ETags only, said in the audit tags'
complete -c llmops -n "__fish_llmops_using_subcommand promote" -l no-base -d 'For a LoRA adapter: refuse, rather than promote its base first, when the base is not in prod'
complete -c llmops -n "__fish_llmops_using_subcommand promote" -l require-fit -d 'Refuse to promote a model that will not start on --gpu with --max-model-len (sized from the published safetensors headers, without downloading the tensors)'
complete -c llmops -n "__fish_llmops_using_subcommand promote" -l load -d 'With --target triton: ask Triton to load the version, and wait until it is ready'
complete -c llmops -n "__fish_llmops_using_subcommand promote" -s q -l quiet -d 'Print only results and errors: no progress, no notes (warnings still go to stderr)'
complete -c llmops -n "__fish_llmops_using_subcommand promote" -l no-progress -d 'No progress bars or progress lines (also LLMOPS_NO_PROGRESS=1)'
complete -c llmops -n "__fish_llmops_using_subcommand promote" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c llmops -n "__fish_llmops_using_subcommand adopt" -l version -d 'The version, when MODEL is a bare name' -r
complete -c llmops -n "__fish_llmops_using_subcommand adopt" -l artifacts-destination -d 'The MLflow server\'s artifact store, s3://BUCKET[/PREFIX], for mlflow-artifacts:/ runs' -r
complete -c llmops -n "__fish_llmops_using_subcommand adopt" -l tracking-uri -d 'MLflow tracking server, http(s)://host:port' -r
complete -c llmops -n "__fish_llmops_using_subcommand adopt" -l output -d 'Output format: tables for people, or one JSON document on stdout for scripts' -r -f -a "table\t'Tables for people'
json\t'One JSON document on stdout, for scripts'"
complete -c llmops -n "__fish_llmops_using_subcommand adopt" -l color -d 'When to colour the output; `auto` colours a terminal unless NO_COLOR is set' -r -f -a "auto\t''
always\t''
never\t''"
complete -c llmops -n "__fish_llmops_using_subcommand adopt" -l dry-run -d 'Hash the bytes and show the manifest\'s digest; record nothing'
complete -c llmops -n "__fish_llmops_using_subcommand adopt" -s q -l quiet -d 'Print only results and errors: no progress, no notes (warnings still go to stderr)'
complete -c llmops -n "__fish_llmops_using_subcommand adopt" -l no-progress -d 'No progress bars or progress lines (also LLMOPS_NO_PROGRESS=1)'
complete -c llmops -n "__fish_llmops_using_subcommand adopt" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c llmops -n "__fish_llmops_using_subcommand rollback" -l alias -d 'The alias to move back' -r
complete -c llmops -n "__fish_llmops_using_subcommand rollback" -l to -d 'The version to move it to [default: the one it pointed to before, from the prod root\'s audit log]' -r
complete -c llmops -n "__fish_llmops_using_subcommand rollback" -l prod-root -d 'The prod dataset root (models land in <PROD_ROOT>/llm-models/<parent-run-id>/), or the prod Triton repository' -r -F
complete -c llmops -n "__fish_llmops_using_subcommand rollback" -l artifacts-destination -d 'The MLflow server\'s artifact store, s3://BUCKET[/PREFIX], for mlflow-artifacts:/ runs' -r
complete -c llmops -n "__fish_llmops_using_subcommand rollback" -l tracking-uri -d 'MLflow tracking server, http(s)://host:port' -r
complete -c llmops -n "__fish_llmops_using_subcommand rollback" -l output -d 'Output format: tables for people, or one JSON document on stdout for scripts' -r -f -a "table\t'Tables for people'
json\t'One JSON document on stdout, for scripts'"
complete -c llmops -n "__fish_llmops_using_subcommand rollback" -l color -d 'When to colour the output; `auto` colours a terminal unless NO_COLOR is set' -r -f -a "auto\t''
always\t''
never\t''"
complete -c llmops -n "__fish_llmops_using_subcommand rollback" -l dry-run -d 'Show what would change; change nothing'
complete -c llmops -n "__fish_llmops_using_subcommand rollback" -s q -l quiet -d 'Print only results and errors: no progress, no notes (warnings still go to stderr)'
complete -c llmops -n "__fish_llmops_using_subcommand rollback" -l no-progress -d 'No progress bars or progress lines (also LLMOPS_NO_PROGRESS=1)'
complete -c llmops -n "__fish_llmops_using_subcommand rollback" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c llmops -n "__fish_llmops_using_subcommand lineage" -l version -d 'The version, when MODEL is a bare name' -r
complete -c llmops -n "__fish_llmops_using_subcommand lineage" -l format -d 'The graph as text for a review or a wiki, instead of the table' -r -f -a "mermaid\t''
dot\t''"
complete -c llmops -n "__fish_llmops_using_subcommand lineage" -l prod-root -d 'Also read the promotions recorded in this prod root\'s audit log' -r -F
complete -c llmops -n "__fish_llmops_using_subcommand lineage" -l tracking-uri -d 'MLflow tracking server, http(s)://host:port' -r
complete -c llmops -n "__fish_llmops_using_subcommand lineage" -l output -d 'Output format: tables for people, or one JSON document on stdout for scripts' -r -f -a "table\t'Tables for people'
json\t'One JSON document on stdout, for scripts'"
complete -c llmops -n "__fish_llmops_using_subcommand lineage" -l color -d 'When to colour the output; `auto` colours a terminal unless NO_COLOR is set' -r -f -a "auto\t''
always\t''
never\t''"
complete -c llmops -n "__fish_llmops_using_subcommand lineage" -s q -l quiet -d 'Print only results and errors: no progress, no notes (warnings still go to stderr)'
complete -c llmops -n "__fish_llmops_using_subcommand lineage" -l no-progress -d 'No progress bars or progress lines (also LLMOPS_NO_PROGRESS=1)'
complete -c llmops -n "__fish_llmops_using_subcommand lineage" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c llmops -n "__fish_llmops_using_subcommand prune" -l keep -d 'Keep the N most recently promoted versions, besides every aliased one' -r
complete -c llmops -n "__fish_llmops_using_subcommand prune" -l prod-root -d 'The prod dataset root (models land in <PROD_ROOT>/llm-models/<parent-run-id>/), or the prod Triton repository' -r -F
complete -c llmops -n "__fish_llmops_using_subcommand prune" -l tracking-uri -d 'MLflow tracking server, http(s)://host:port' -r
complete -c llmops -n "__fish_llmops_using_subcommand prune" -l output -d 'Output format: tables for people, or one JSON document on stdout for scripts' -r -f -a "table\t'Tables for people'
json\t'One JSON document on stdout, for scripts'"
complete -c llmops -n "__fish_llmops_using_subcommand prune" -l color -d 'When to colour the output; `auto` colours a terminal unless NO_COLOR is set' -r -f -a "auto\t''
always\t''
never\t''"
complete -c llmops -n "__fish_llmops_using_subcommand prune" -l dry-run -d 'Show what would be removed; remove nothing'
complete -c llmops -n "__fish_llmops_using_subcommand prune" -s q -l quiet -d 'Print only results and errors: no progress, no notes (warnings still go to stderr)'
complete -c llmops -n "__fish_llmops_using_subcommand prune" -l no-progress -d 'No progress bars or progress lines (also LLMOPS_NO_PROGRESS=1)'
complete -c llmops -n "__fish_llmops_using_subcommand prune" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c llmops -n "__fish_llmops_using_subcommand status" -l dev-root -d 'The dev dataset root (binaries are staged at <DEV_ROOT>/llm-models/<parent-run-id>/), or the dev Triton repository' -r -F
complete -c llmops -n "__fish_llmops_using_subcommand status" -l prod-root -d 'The prod dataset root (models land in <PROD_ROOT>/llm-models/<parent-run-id>/), or the prod Triton repository' -r -F
complete -c llmops -n "__fish_llmops_using_subcommand status" -l tracking-uri -d 'MLflow tracking server, http(s)://host:port' -r
complete -c llmops -n "__fish_llmops_using_subcommand status" -l output -d 'Output format: tables for people, or one JSON document on stdout for scripts' -r -f -a "table\t'Tables for people'
json\t'One JSON document on stdout, for scripts'"
complete -c llmops -n "__fish_llmops_using_subcommand status" -l color -d 'When to colour the output; `auto` colours a terminal unless NO_COLOR is set' -r -f -a "auto\t''
always\t''
never\t''"
complete -c llmops -n "__fish_llmops_using_subcommand status" -s q -l quiet -d 'Print only results and errors: no progress, no notes (warnings still go to stderr)'
complete -c llmops -n "__fish_llmops_using_subcommand status" -l no-progress -d 'No progress bars or progress lines (also LLMOPS_NO_PROGRESS=1)'
complete -c llmops -n "__fish_llmops_using_subcommand status" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c llmops -n "__fish_llmops_using_subcommand verify" -l version -d 'The version, when MODEL is a bare name' -r
complete -c llmops -n "__fish_llmops_using_subcommand verify" -l prod-root -d 'The prod dataset root (models land in <PROD_ROOT>/llm-models/<parent-run-id>/), or the prod Triton repository' -r -F
complete -c llmops -n "__fish_llmops_using_subcommand verify" -l tracking-uri -d 'MLflow tracking server, http(s)://host:port' -r
complete -c llmops -n "__fish_llmops_using_subcommand verify" -l output -d 'Output format: tables for people, or one JSON document on stdout for scripts' -r -f -a "table\t'Tables for people'
json\t'One JSON document on stdout, for scripts'"
complete -c llmops -n "__fish_llmops_using_subcommand verify" -l color -d 'When to colour the output; `auto` colours a terminal unless NO_COLOR is set' -r -f -a "auto\t''
always\t''
never\t''"
complete -c llmops -n "__fish_llmops_using_subcommand verify" -s q -l quiet -d 'Print only results and errors: no progress, no notes (warnings still go to stderr)'
complete -c llmops -n "__fish_llmops_using_subcommand verify" -l no-progress -d 'No progress bars or progress lines (also LLMOPS_NO_PROGRESS=1)'
complete -c llmops -n "__fish_llmops_using_subcommand verify" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c llmops -n "__fish_llmops_using_subcommand size" -l tracking-uri -d 'MLflow tracking server, http(s)://host:port' -r
complete -c llmops -n "__fish_llmops_using_subcommand size" -l artifacts-destination -d 'The MLflow server\'s artifact store, s3://BUCKET[/PREFIX], for mlflow-artifacts:/ runs' -r
complete -c llmops -n "__fish_llmops_using_subcommand size" -l max-model-len -d 'Context length(s) to size for, as vLLM reads them (32k, 32K, or auto: the longest that fits); comma-separated for a sweep [default: the config\'s]' -r
complete -c llmops -n "__fish_llmops_using_subcommand size" -l gpu -d 'GPU(s) from the catalogue, case-insensitive; comma-separated for a sweep [default: H100-80GB]' -r
complete -c llmops -n "__fish_llmops_using_subcommand size" -l gpu-memory -d 'Total memory of one GPU as the CUDA runtime reports it, e.g. 79.19GiB or 81559MiB' -r
complete -c llmops -n "__fish_llmops_using_subcommand size" -l tensor-parallel-size -l tp -d 'GPUs one model is split across' -r
complete -c llmops -n "__fish_llmops_using_subcommand size" -l pipeline-parallel-size -l pp -d 'Pipeline stages, each on its own --tensor-parallel-size GPUs; the stage with the fewest KV blocks sets every stage\'s' -r
complete -c llmops -n "__fish_llmops_using_subcommand size" -l data-parallel-size -l dp -d 'Replicas of the model, each on its own --tensor-parallel-size GPUs' -r
complete -c llmops -n "__fish_llmops_using_subcommand size" -l gpu-memory-utilization -d 'Fraction of each GPU\'s total memory vLLM may use [default: vLLM\'s, 0.92 from 0.20, 0.9 before]' -r
complete -c llmops -n "__fish_llmops_using_subcommand size" -l kv-cache-dtype -d 'KV cache element type' -r -f -a "auto\t'The model\'s serving dtype'
fp8\t'One byte per element (fp8_e4m3 / fp8_e5m2)'"
complete -c llmops -n "__fish_llmops_using_subcommand size" -l kv-cache-memory-bytes -d 'KV cache per GPU in bytes, as vLLM\'s --kv-cache-memory-bytes (8G = 8 GiB, 8g = 8 GB); replaces --gpu-memory-utilization\'s budget' -r
complete -c llmops -n "__fish_llmops_using_subcommand size" -l dtype -d 'Weights and activations type; auto follows config.json (float32 checkpoints are served in bfloat16)' -r -f -a "auto\t''
bfloat16\t''
float16\t''
float32\t''"
complete -c llmops -n "__fish_llmops_using_subcommand size" -l quantization -d 'Quantize an unquantized checkpoint as it loads, as vLLM\'s --quantization fp8 (linear and expert weights to 1 byte; embeddings and LM head stay)' -r -f -a "fp8\t'fp8 (e4m3) weights with one scale per tensor'"
complete -c llmops -n "__fish_llmops_using_subcommand size" -l max-num-seqs -d 'Maximum sequences per step [default: vLLM\'s, 1024 on large Hopper/Blackwell GPUs, else 256]' -r
complete -c llmops -n "__fish_llmops_using_subcommand size" -l max-num-batched-tokens -d 'Maximum tokens per step [default: vLLM\'s, 8192 on large Hopper/Blackwell GPUs, else 2048]' -r
complete -c llmops -n "__fish_llmops_using_subcommand size" -l cudagraph-mode -d 'Which CUDA graphs vLLM captures (`cudagraph_mode` in its --compilation-config) [default: FULL_AND_PIECEWISE from vLLM 0.11, PIECEWISE before]' -r -f -a "NONE\t''
PIECEWISE\t'The model between attention layers, one graph per capture size'
FULL\t'Whole forward passes, one per capture size, for every batch'
FULL_DECODE_ONLY\t'Whole forward passes for decode batches only (up to `max_num_seqs`); prefill runs eager'
FULL_AND_PIECEWISE\t'Piecewise graphs for every batch and full graphs for decode batches: the default from 0.11'"
complete -c llmops -n "__fish_llmops_using_subcommand size" -l max-cudagraph-capture-size -d 'The largest batch vLLM captures a graph for (its --max-cudagraph-capture-size) [default: 2 × max-num-seqs, at most 512]' -r
complete -c llmops -n "__fish_llmops_using_subcommand size" -l vllm-version -d 'The vLLM release whose accounting, defaults and log lines to reproduce, 0.10 to 0.33 (latest = 0.33)' -r
complete -c llmops -n "__fish_llmops_using_subcommand size" -l lora -d 'A LoRA adapter to serve on the model: a registered adapter (models:/NAME/V) or an adapter folder (repeatable)' -r
complete -c llmops -n "__fish_llmops_using_subcommand size" -l max-loras -d 'vLLM\'s --max-loras: adapters in one batch, each a slot on every GPU [default: 1]' -r
complete -c llmops -n "__fish_llmops_using_subcommand size" -l max-lora-rank -d 'vLLM\'s --max-lora-rank [default: the smallest vLLM accepts that holds every adapter\'s rank]' -r
complete -c llmops -n "__fish_llmops_using_subcommand size" -l against-log -d 'A real vLLM start-up log: size with the settings it shows (non-default args, defaults, GPU memory, version) and compare each figure it printed; exit 1 when the verdict differs or available KV is off by more than --tolerance' -r -F
complete -c llmops -n "__fish_llmops_using_subcommand size" -l tolerance -d 'With --against-log: how far available KV may be from the log, in percent' -r
complete -c llmops -n "__fish_llmops_using_subcommand size" -l output -d 'Output format: tables for people, or one JSON document on stdout for scripts' -r -f -a "table\t'Tables for people'
json\t'One JSON document on stdout, for scripts'"
complete -c llmops -n "__fish_llmops_using_subcommand size" -l color -d 'When to colour the output; `auto` colours a terminal unless NO_COLOR is set' -r -f -a "auto\t''
always\t''
never\t''"
complete -c llmops -n "__fish_llmops_using_subcommand size" -l enable-expert-parallel -d 'MoE experts spread whole over the tensor × data parallel GPUs, as vLLM\'s --enable-expert-parallel'
complete -c llmops -n "__fish_llmops_using_subcommand size" -l enforce-eager -d 'No CUDA graphs (vLLM\'s --enforce-eager)'
complete -c llmops -n "__fish_llmops_using_subcommand size" -s q -l quiet -d 'Print only results and errors: no progress, no notes (warnings still go to stderr)'
complete -c llmops -n "__fish_llmops_using_subcommand size" -l no-progress -d 'No progress bars or progress lines (also LLMOPS_NO_PROGRESS=1)'
complete -c llmops -n "__fish_llmops_using_subcommand size" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c llmops -n "__fish_llmops_using_subcommand doctor" -l role -d 'Whose setup to check' -r -f -a "data-scientist\t'register and publish: tracking server, dev root'
prod-deployer\t'promote: tracking server, AWS credentials, artifact store, prod root'"
complete -c llmops -n "__fish_llmops_using_subcommand doctor" -l tracking-uri -d 'MLflow tracking server, http(s)://host:port' -r
complete -c llmops -n "__fish_llmops_using_subcommand doctor" -l artifacts-destination -d 'The MLflow server\'s artifact store, s3://BUCKET[/PREFIX], for mlflow-artifacts:/ runs' -r
complete -c llmops -n "__fish_llmops_using_subcommand doctor" -l dev-root -d 'The dev dataset root (binaries are staged at <DEV_ROOT>/llm-models/<parent-run-id>/), or the dev Triton repository' -r -F
complete -c llmops -n "__fish_llmops_using_subcommand doctor" -l prod-root -d 'The prod dataset root (models land in <PROD_ROOT>/llm-models/<parent-run-id>/), or the prod Triton repository' -r -F
complete -c llmops -n "__fish_llmops_using_subcommand doctor" -l output -d 'Output format: tables for people, or one JSON document on stdout for scripts' -r -f -a "table\t'Tables for people'
json\t'One JSON document on stdout, for scripts'"
complete -c llmops -n "__fish_llmops_using_subcommand doctor" -l color -d 'When to colour the output; `auto` colours a terminal unless NO_COLOR is set' -r -f -a "auto\t''
always\t''
never\t''"
complete -c llmops -n "__fish_llmops_using_subcommand doctor" -s q -l quiet -d 'Print only results and errors: no progress, no notes (warnings still go to stderr)'
complete -c llmops -n "__fish_llmops_using_subcommand doctor" -l no-progress -d 'No progress bars or progress lines (also LLMOPS_NO_PROGRESS=1)'
complete -c llmops -n "__fish_llmops_using_subcommand doctor" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c llmops -n "__fish_llmops_using_subcommand config; and not __fish_seen_subcommand_from show help" -l output -d 'Output format: tables for people, or one JSON document on stdout for scripts' -r -f -a "table\t'Tables for people'
json\t'One JSON document on stdout, for scripts'"
complete -c llmops -n "__fish_llmops_using_subcommand config; and not __fish_seen_subcommand_from show help" -l color -d 'When to colour the output; `auto` colours a terminal unless NO_COLOR is set' -r -f -a "auto\t''
always\t''
never\t''"
complete -c llmops -n "__fish_llmops_using_subcommand config; and not __fish_seen_subcommand_from show help" -s q -l quiet -d 'Print only results and errors: no progress, no notes (warnings still go to stderr)'
complete -c llmops -n "__fish_llmops_using_subcommand config; and not __fish_seen_subcommand_from show help" -l no-progress -d 'No progress bars or progress lines (also LLMOPS_NO_PROGRESS=1)'
complete -c llmops -n "__fish_llmops_using_subcommand config; and not __fish_seen_subcommand_from show help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c llmops -n "__fish_llmops_using_subcommand config; and not __fish_seen_subcommand_from show help" -f -a "show" -d 'Print every setting with its value and source; secrets only as set or not set'
complete -c llmops -n "__fish_llmops_using_subcommand config; and not __fish_seen_subcommand_from show help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c llmops -n "__fish_llmops_using_subcommand config; and __fish_seen_subcommand_from show" -l output -d 'Output format: tables for people, or one JSON document on stdout for scripts' -r -f -a "table\t'Tables for people'
json\t'One JSON document on stdout, for scripts'"
complete -c llmops -n "__fish_llmops_using_subcommand config; and __fish_seen_subcommand_from show" -l color -d 'When to colour the output; `auto` colours a terminal unless NO_COLOR is set' -r -f -a "auto\t''
always\t''
never\t''"
complete -c llmops -n "__fish_llmops_using_subcommand config; and __fish_seen_subcommand_from show" -s q -l quiet -d 'Print only results and errors: no progress, no notes (warnings still go to stderr)'
complete -c llmops -n "__fish_llmops_using_subcommand config; and __fish_seen_subcommand_from show" -l no-progress -d 'No progress bars or progress lines (also LLMOPS_NO_PROGRESS=1)'
complete -c llmops -n "__fish_llmops_using_subcommand config; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c llmops -n "__fish_llmops_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "show" -d 'Print every setting with its value and source; secrets only as set or not set'
complete -c llmops -n "__fish_llmops_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c llmops -n "__fish_llmops_using_subcommand generate; and not __fish_seen_subcommand_from completions man help" -l output -d 'Output format: tables for people, or one JSON document on stdout for scripts' -r -f -a "table\t'Tables for people'
json\t'One JSON document on stdout, for scripts'"
complete -c llmops -n "__fish_llmops_using_subcommand generate; and not __fish_seen_subcommand_from completions man help" -l color -d 'When to colour the output; `auto` colours a terminal unless NO_COLOR is set' -r -f -a "auto\t''
always\t''
never\t''"
complete -c llmops -n "__fish_llmops_using_subcommand generate; and not __fish_seen_subcommand_from completions man help" -s q -l quiet -d 'Print only results and errors: no progress, no notes (warnings still go to stderr)'
complete -c llmops -n "__fish_llmops_using_subcommand generate; and not __fish_seen_subcommand_from completions man help" -l no-progress -d 'No progress bars or progress lines (also LLMOPS_NO_PROGRESS=1)'
complete -c llmops -n "__fish_llmops_using_subcommand generate; and not __fish_seen_subcommand_from completions man help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c llmops -n "__fish_llmops_using_subcommand generate; and not __fish_seen_subcommand_from completions man help" -f -a "completions" -d 'Shell completion scripts for bash, zsh, fish, powershell and elvish'
complete -c llmops -n "__fish_llmops_using_subcommand generate; and not __fish_seen_subcommand_from completions man help" -f -a "man" -d 'Man pages (llmops.1 and one per command)'
complete -c llmops -n "__fish_llmops_using_subcommand generate; and not __fish_seen_subcommand_from completions man help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c llmops -n "__fish_llmops_using_subcommand generate; and __fish_seen_subcommand_from completions" -l output -d 'Output format: tables for people, or one JSON document on stdout for scripts' -r -f -a "table\t'Tables for people'
json\t'One JSON document on stdout, for scripts'"
complete -c llmops -n "__fish_llmops_using_subcommand generate; and __fish_seen_subcommand_from completions" -l color -d 'When to colour the output; `auto` colours a terminal unless NO_COLOR is set' -r -f -a "auto\t''
always\t''
never\t''"
complete -c llmops -n "__fish_llmops_using_subcommand generate; and __fish_seen_subcommand_from completions" -s q -l quiet -d 'Print only results and errors: no progress, no notes (warnings still go to stderr)'
complete -c llmops -n "__fish_llmops_using_subcommand generate; and __fish_seen_subcommand_from completions" -l no-progress -d 'No progress bars or progress lines (also LLMOPS_NO_PROGRESS=1)'
complete -c llmops -n "__fish_llmops_using_subcommand generate; and __fish_seen_subcommand_from completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c llmops -n "__fish_llmops_using_subcommand generate; and __fish_seen_subcommand_from man" -l output -d 'Output format: tables for people, or one JSON document on stdout for scripts' -r -f -a "table\t'Tables for people'
json\t'One JSON document on stdout, for scripts'"
complete -c llmops -n "__fish_llmops_using_subcommand generate; and __fish_seen_subcommand_from man" -l color -d 'When to colour the output; `auto` colours a terminal unless NO_COLOR is set' -r -f -a "auto\t''
always\t''
never\t''"
complete -c llmops -n "__fish_llmops_using_subcommand generate; and __fish_seen_subcommand_from man" -s q -l quiet -d 'Print only results and errors: no progress, no notes (warnings still go to stderr)'
complete -c llmops -n "__fish_llmops_using_subcommand generate; and __fish_seen_subcommand_from man" -l no-progress -d 'No progress bars or progress lines (also LLMOPS_NO_PROGRESS=1)'
complete -c llmops -n "__fish_llmops_using_subcommand generate; and __fish_seen_subcommand_from man" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c llmops -n "__fish_llmops_using_subcommand generate; and __fish_seen_subcommand_from help" -f -a "completions" -d 'Shell completion scripts for bash, zsh, fish, powershell and elvish'
complete -c llmops -n "__fish_llmops_using_subcommand generate; and __fish_seen_subcommand_from help" -f -a "man" -d 'Man pages (llmops.1 and one per command)'
complete -c llmops -n "__fish_llmops_using_subcommand generate; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c llmops -n "__fish_llmops_using_subcommand help; and not __fish_seen_subcommand_from register publish promote adopt rollback lineage prune status verify size doctor config generate help" -f -a "register" -d 'Register a model folder in MLflow: parent run with the binaries, dev staging, child pyfunc, version'
complete -c llmops -n "__fish_llmops_using_subcommand help; and not __fish_seen_subcommand_from register publish promote adopt rollback lineage prune status verify size doctor config generate help" -f -a "publish" -d 'Upload a registered version\'s binaries into its parent run, once it is tested'
complete -c llmops -n "__fish_llmops_using_subcommand help; and not __fish_seen_subcommand_from register publish promote adopt rollback lineage prune status verify size doctor config generate help" -f -a "promote" -d 'Put a registered version\'s binaries into the prod dataset, from S3, verified and atomic'
complete -c llmops -n "__fish_llmops_using_subcommand help; and not __fish_seen_subcommand_from register publish promote adopt rollback lineage prune status verify size doctor config generate help" -f -a "adopt" -d 'Record a manifest for a version registered by another tool, hashed from its bytes in S3'
complete -c llmops -n "__fish_llmops_using_subcommand help; and not __fish_seen_subcommand_from register publish promote adopt rollback lineage prune status verify size doctor config generate help" -f -a "rollback" -d 'Move an alias back to the version it pointed to before, after checking its prod copy'
complete -c llmops -n "__fish_llmops_using_subcommand help; and not __fish_seen_subcommand_from register publish promote adopt rollback lineage prune status verify size doctor config generate help" -f -a "lineage" -d 'Where a version came from and where it went: source, runs, datasets, metrics, aliases, promotions'
complete -c llmops -n "__fish_llmops_using_subcommand help; and not __fish_seen_subcommand_from register publish promote adopt rollback lineage prune status verify size doctor config generate help" -f -a "prune" -d 'Remove prod folders of versions nothing serves: not aliased, not among the N last promoted, no adapter\'s base'
complete -c llmops -n "__fish_llmops_using_subcommand help; and not __fish_seen_subcommand_from register publish promote adopt rollback lineage prune status verify size doctor config generate help" -f -a "status" -d 'Show every version of a registered model: staged in dev, published, promoted, verified'
complete -c llmops -n "__fish_llmops_using_subcommand help; and not __fish_seen_subcommand_from register publish promote adopt rollback lineage prune status verify size doctor config generate help" -f -a "verify" -d 'Re-hash the prod copy of a version against its manifest'
complete -c llmops -n "__fish_llmops_using_subcommand help; and not __fish_seen_subcommand_from register publish promote adopt rollback lineage prune status verify size doctor config generate help" -f -a "size" -d 'Predict the GPU memory vLLM will allocate for a model, and whether it fits'
complete -c llmops -n "__fish_llmops_using_subcommand help; and not __fish_seen_subcommand_from register publish promote adopt rollback lineage prune status verify size doctor config generate help" -f -a "doctor" -d 'Check the setup for a role: tracking server, authentication, AWS credentials, roots, Triton, clock'
complete -c llmops -n "__fish_llmops_using_subcommand help; and not __fish_seen_subcommand_from register publish promote adopt rollback lineage prune status verify size doctor config generate help" -f -a "config" -d 'Show the resolved configuration: every setting, its value, and where it came from'
complete -c llmops -n "__fish_llmops_using_subcommand help; and not __fish_seen_subcommand_from register publish promote adopt rollback lineage prune status verify size doctor config generate help" -f -a "generate" -d 'Write shell completions and man pages (for packagers)'
complete -c llmops -n "__fish_llmops_using_subcommand help; and not __fish_seen_subcommand_from register publish promote adopt rollback lineage prune status verify size doctor config generate help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c llmops -n "__fish_llmops_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "show" -d 'Print every setting with its value and source; secrets only as set or not set'
complete -c llmops -n "__fish_llmops_using_subcommand help; and __fish_seen_subcommand_from generate" -f -a "completions" -d 'Shell completion scripts for bash, zsh, fish, powershell and elvish'
complete -c llmops -n "__fish_llmops_using_subcommand help; and __fish_seen_subcommand_from generate" -f -a "man" -d 'Man pages (llmops.1 and one per command)'
