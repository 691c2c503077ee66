//! The caller's environment never reaches the binary: `common::llmops()` (and so `Stack::llmops()`)
//! drops every LLMOPS_*, VLLM_*, MLFLOW_*, AWS_*, DOMINO_* and XDG_* variable, runs with an empty
//! HOME in an empty current directory, and points the AWS config and credentials files nowhere.
//!
//! Proved honestly: this test runs itself again in a child process whose environment is hostile
//! (Domino variables, an AWS profile with keys in ~/.aws, a ./llmops.toml, a user config file,
//! MLflow and llmops variables), and there checks both the `Command` the helper builds and what
//! the real binary then reports (`config show`, `doctor`).

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::Path;

use serde_json::Value;

use crate::common::{ISOLATION, llmops, llmops_std};

/// Set in the child: this process is the one with the hostile environment.
const CHILD: &str = "LLMOPS_IT_HOSTILE_CALLER";
const TEST: &str = "isolation::the_callers_environment_does_not_reach_llmops";
/// What must not come from the caller (written out here, not taken from `common`).
const PREFIXES: [&str; 6] = ["LLMOPS_", "VLLM_", "MLFLOW_", "AWS_", "DOMINO_", "XDG_"];

#[test]
fn the_callers_environment_does_not_reach_llmops() {
    if std::env::var_os(CHILD).is_some() {
        check_in_a_hostile_environment();
        return;
    }
    let caller = tempfile::tempdir().unwrap();
    let (home, cwd, datasets) = (
        caller.path().join("home"),
        caller.path().join("cwd"),
        caller.path().join("datasets"),
    );
    let write = |path: &Path, text: &str| {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write(
        &home.join(".aws/credentials"),
        "[default]\naws_access_key_id = AKIALEAKEDDEFAULT0000\naws_secret_access_key = leaked\n\
         [leaky]\naws_access_key_id = AKIALEAKEDPROFILE0000\naws_secret_access_key = leaked\n",
    );
    write(
        &home.join(".aws/config"),
        "[default]\nregion = eu-west-3\n[profile leaky]\nregion = eu-west-3\n",
    );
    write(&home.join(".config/llmops/config.toml"), "gpu = \"T4\"\n");
    write(
        &cwd.join("llmops.toml"),
        "gpu = \"L4\"\ntracking_uri = \"http://leaked.invalid:5000\"\nconcurrency = 3\n",
    );
    std::fs::create_dir_all(datasets.join("domino-models-prod")).unwrap();
    std::fs::create_dir_all(datasets.join("domino-models-dev")).unwrap();

    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([TEST, "--exact", "--nocapture", "--test-threads", "1"])
        .current_dir(&cwd)
        .env(CHILD, "1")
        .env("HOME", &home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("DOMINO_STARTING_USERNAME", "leaked-user")
        .env("DOMINO_USER_API_KEY", "leaked-api-key")
        .env("DOMINO_DATASETS_DIR", &datasets)
        .env("DOMINO_IMPORTED_DATA_DIR", &datasets)
        .env("DOMINO_IS_GIT_BASED", "true")
        .env("AWS_PROFILE", "leaky")
        .env("AWS_ACCESS_KEY_ID", "AKIALEAKEDENVIRON0000")
        .env("AWS_SECRET_ACCESS_KEY", "leaked")
        .env("AWS_REGION", "eu-west-3")
        .env("MLFLOW_TRACKING_URI", "http://leaked.invalid:5000")
        .env("MLFLOW_TRACKING_TOKEN", "leaked-token")
        .env("LLMOPS_GPU", "A10G")
        .env("LLMOPS_PROD_ROOT", &datasets)
        .env("VLLM_ALLOW_LONG_MAX_MODEL_LEN", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("test result: ok. 1 passed"),
        "the check in a hostile environment failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// In the child: the environment is hostile, the command is not, and neither is what it reports.
fn check_in_a_hostile_environment() {
    // Else this proves nothing.
    assert_eq!(
        std::env::var("DOMINO_STARTING_USERNAME").as_deref(),
        Ok("leaked-user")
    );
    assert_eq!(std::env::var("AWS_PROFILE").as_deref(), Ok("leaky"));
    assert!(Path::new("llmops.toml").is_file());
    let home = std::env::var_os("HOME").unwrap();
    assert!(Path::new(&home).join(".aws/credentials").is_file());

    // The command: every caller variable of those prefixes removed or replaced, HOME and the
    // current directory empty folders, the AWS files nonexistent.
    let command = llmops_std();
    let set: HashMap<OsString, Option<OsString>> = command
        .get_envs()
        .map(|(k, v)| (k.to_owned(), v.map(|v| v.to_owned())))
        .collect();
    let isolation = &*ISOLATION;
    let replaced: HashMap<&str, OsString> = HashMap::from([
        ("XDG_CONFIG_HOME", isolation.home.join(".config").into()),
        ("AWS_CONFIG_FILE", isolation.no_aws_file.clone().into()),
        (
            "AWS_SHARED_CREDENTIALS_FILE",
            isolation.no_aws_file.clone().into(),
        ),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
    ]);
    for (name, _) in std::env::vars() {
        if !PREFIXES.iter().any(|p| name.starts_with(p)) {
            continue;
        }
        let value = set.get(&OsString::from(&name));
        match replaced.get(name.as_str()) {
            Some(ours) => assert_eq!(value, Some(&Some(ours.clone())), "{name}"),
            None => assert_eq!(value, Some(&None), "{name} is not removed"),
        }
    }
    for (name, ours) in &replaced {
        assert_eq!(
            set.get(&OsString::from(name)),
            Some(&Some(ours.clone())),
            "{name}"
        );
    }
    assert!(!isolation.no_aws_file.exists());
    let empty = |dir: &Path| std::fs::read_dir(dir).unwrap().next().is_none();
    assert_eq!(
        set.get(&OsString::from("HOME")),
        Some(&Some(isolation.home.clone().into_os_string()))
    );
    assert!(empty(&isolation.home), "{}", isolation.home.display());
    assert_eq!(command.get_current_dir(), Some(isolation.cwd.as_path()));
    assert!(empty(&isolation.cwd), "{}", isolation.cwd.display());

    // What the binary reports: no setting from a file or the environment, no secret set.
    let output = llmops()
        .args(["config", "show", "--output", "json"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let shown: Value = serde_json::from_slice(&output.stdout).unwrap();
    for setting in shown["settings"].as_array().unwrap() {
        assert_eq!(
            (setting["value"].as_str(), setting["source"].as_str()),
            (None, Some("default")),
            "{setting}"
        );
    }
    for (name, state) in shown["secrets"].as_object().unwrap() {
        assert_eq!(state, "not set", "{name}");
    }
    assert_eq!(
        shown["files"],
        serde_json::json!([
            "llmops.toml (absent)",
            format!(
                "{}/.config/llmops/config.toml (absent)",
                isolation.home.display()
            )
        ])
    );

    // doctor: no tracking server, no credentials (no profile, no keys), no dataset root.
    let output = llmops()
        .args(["doctor", "--role", "prod-deployer", "--output", "json"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(!text.to_lowercase().contains("leak"), "{text}");
    let report: Value = serde_json::from_str(&text).unwrap();
    let check = |name: &str| -> Value {
        report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no {name}: {report}"))
            .clone()
    };
    let tracking = check("tracking server");
    assert_eq!(
        tracking["detail"], "no MLflow tracking server given",
        "{tracking}"
    );
    let credentials = check("AWS credentials");
    assert_eq!(credentials["status"], "fail", "{credentials}");
    let root = check("prod root");
    assert!(
        root["detail"]
            .as_str()
            .unwrap()
            .starts_with("no prod dataset root"),
        "{root}"
    );
}
