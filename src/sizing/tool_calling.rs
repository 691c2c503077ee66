//! Which `--tool-call-parser` vLLM needs for a model, from what its chat template makes the model
//! write. vLLM's parsers each look for their model's markers (`vllm/tool_parsers/*_tool_parser.py`)
//! and a wrong parser silently leaves tool calls in the message content, so the template's markers
//! decide, then the model type where one marker serves several formats. The parser names and the
//! model families are vLLM's (`docs/features/tool_calling.md`, `vllm/tool_parsers/__init__.py`).

use serde::Serialize;

use crate::registry::provenance::takes_tools;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ToolCalling {
    /// The parser to pass as `--tool-call-parser`, when one is known.
    pub parser: Option<String>,
    /// Whether `--enable-auto-tool-choice` applies (the template takes tools and a parser is known).
    pub auto_tool_choice: bool,
    /// Whether the chat template shows the model its tools; null when no template was read.
    pub template_takes_tools: Option<bool>,
    /// Why, in a sentence.
    pub reason: String,
}

/// (marker in the template, extra marker it must also have or `""`, parser, the parser's file).
/// Checked in order: the more specific formats first.
const MARKERS: &[(&str, &str, &str, &str)] = &[
    (
        "<minimax:tool_call>",
        "",
        "minimax_m2",
        "minimax_m2_tool_parser.py",
    ),
    (
        "<|tool_calls_section_begin|>",
        "",
        "kimi_k2",
        "kimi_k2_tool_parser.py",
    ),
    // V3 writes type, name, then the arguments in a ```json block; V3.1 the name, then them.
    (
        "<｜tool▁calls▁begin｜>",
        "```json",
        "deepseek_v3",
        "deepseekv3_tool_parser.py",
    ),
    (
        "<｜tool▁calls▁begin｜>",
        "",
        "deepseek_v31",
        "deepseekv31_tool_parser.py",
    ),
    (
        "<tool_call>",
        "<function=",
        "qwen3_xml",
        "qwen3xml_tool_parser.py",
    ),
    (
        "<tool_call>",
        "<arg_key>",
        "glm45",
        "glm4_moe_tool_parser.py",
    ),
    ("<|tool_call>", "", "gemma4", "gemma4_tool_parser.py"),
    ("<|tool_call|>", "", "granite", "granite_tool_parser.py"),
    (
        "<start_function_call>",
        "",
        "functiongemma",
        "functiongemma_tool_parser.py",
    ),
    ("[TOOL_CALLS]", "", "mistral", "mistral_tool_parser.py"),
    (
        "<|python_start|>",
        "",
        "llama4_pythonic",
        "llama4_pythonic_tool_parser.py",
    ),
    ("<|python_tag|>", "", "llama3_json", "llama_tool_parser.py"),
    (
        "Environment: ipython",
        "",
        "llama3_json",
        "llama_tool_parser.py",
    ),
    ("<tool_call>", "", "hermes", "hermes_tool_parser.py"),
];

/// Where the chat template stands: not looked for (a remote model), looked for and absent, or found
/// as (name, text) pairs.
pub enum Templates<'a> {
    NotRead,
    Absent,
    Found(&'a [(String, String)]),
}

/// The parser for a model whose config says `model_type`, with its chat templates.
pub fn recommend(model_type: &str, templates: Templates<'_>) -> ToolCalling {
    // gpt-oss speaks the harmony format whatever its template shows.
    if model_type == "gpt_oss" {
        return known(
            "openai",
            "gpt-oss writes the harmony format (openai_tool_parser.py)",
        );
    }
    let templates = match templates {
        Templates::NotRead => {
            return ToolCalling::unknown(
                "the chat template was not read (give the model folder, or register it)",
            );
        }
        Templates::Absent => {
            return ToolCalling::unknown(
                "no chat template beside config.json (tokenizer_config.json or chat_template.jinja)",
            );
        }
        Templates::Found(templates) => templates,
    };
    let Some((_, text)) = templates
        .iter()
        .find(|(name, text)| takes_tools(name, text))
    else {
        // Some templates render past tool calls but never show the model its tools (DeepSeek-R1's
        // first release): vLLM's docs pair their parser with a tool-aware `--chat-template`.
        let all: String = templates.iter().map(|(_, t)| t.as_str()).collect();
        let (parser, reason) = match parser_for(model_type, &all) {
            Some((marker, parser, _)) => (
                Some(parser.to_string()),
                format!(
                    "the chat template writes `{marker}` calls but never passes the tools to the model: pair --tool-call-parser {parser} with a tool-aware --chat-template (vLLM's examples/) before enabling auto tool choice"
                ),
            ),
            None => (
                None,
                "the chat template takes no tools: --enable-auto-tool-choice does not apply".into(),
            ),
        };
        return ToolCalling {
            parser,
            auto_tool_choice: false,
            template_takes_tools: Some(false),
            reason,
        };
    };
    match parser_for(model_type, text) {
        Some((marker, parser, file)) => known(
            parser,
            &format!("the chat template writes `{marker}` ({file})"),
        ),
        None => ToolCalling {
            template_takes_tools: Some(true),
            ..ToolCalling::unknown(
                "the chat template takes tools, but in a format none of vLLM's parsers known to llmops reads; see vLLM's tool calling docs",
            )
        },
    }
}

/// (marker found, parser, the parser's file) for a template's text; the model type settles the
/// markers several formats share.
fn parser_for(model_type: &str, text: &str) -> Option<(&'static str, &'static str, &'static str)> {
    for (marker, also, parser, file) in MARKERS {
        if text.contains(marker) && (also.is_empty() || text.contains(also)) {
            // Granite 4 writes Hermes-style <tool_call> but has its own parser.
            let parser = match (*parser, model_type) {
                ("hermes", "granitemoehybrid") => "granite4",
                ("glm45", "glm4_moe_lite") => "glm47",
                (parser, _) => parser,
            };
            return Some((marker, parser, file));
        }
    }
    (model_type == "jamba" && text.contains("<tool_calls>")).then_some((
        "<tool_calls>",
        "jamba",
        "jamba_tool_parser.py",
    ))
}

fn known(parser: &str, reason: &str) -> ToolCalling {
    ToolCalling {
        parser: Some(parser.to_string()),
        auto_tool_choice: true,
        template_takes_tools: Some(true),
        reason: reason.to_string(),
    }
}

/// The suffix `register` records for a parser that needs a tool-aware `--chat-template` first.
const NEEDS_CHAT_TEMPLATE: &str = ":needs-chat-template";

/// What `register` recorded (`llmops.tool_call_parser`, see [`ToolCalling::recorded`]).
pub fn from_recorded(model_type: &str, recorded: &str) -> ToolCalling {
    let is_parser_name = |p: &str| {
        !p.is_empty()
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-".contains(c))
    };
    match recorded {
        "none" => ToolCalling {
            template_takes_tools: Some(false),
            ..ToolCalling::unknown("the chat template recorded at register time takes no tools")
        },
        "unknown" => ToolCalling::unknown(
            "the chat template recorded at register time matches no parser llmops knows",
        ),
        parser if is_parser_name(parser) => known(
            parser,
            &format!("recorded at register time from the {model_type} model's chat template"),
        ),
        other => match other.strip_suffix(NEEDS_CHAT_TEMPLATE) {
            Some(parser) if is_parser_name(parser) => ToolCalling {
                parser: Some(parser.to_string()),
                auto_tool_choice: false,
                template_takes_tools: Some(false),
                reason: format!(
                    "recorded at register time: the chat template never passes the tools to the model; pair --tool-call-parser {parser} with a tool-aware --chat-template"
                ),
            },
            _ => ToolCalling::unknown("the recorded parser is not a parser name"),
        },
    }
}

impl ToolCalling {
    /// No parser can be named, and why.
    pub fn unknown(reason: &str) -> ToolCalling {
        ToolCalling {
            parser: None,
            auto_tool_choice: false,
            template_takes_tools: None,
            reason: reason.to_string(),
        }
    }

    /// The value `register` records: the parser, `<parser>:needs-chat-template`, `none` or `unknown`.
    pub fn recorded(&self) -> String {
        match (
            &self.parser,
            self.auto_tool_choice,
            self.template_takes_tools,
        ) {
            (Some(parser), true, _) => parser.clone(),
            (Some(parser), false, _) => format!("{parser}{NEEDS_CHAT_TEMPLATE}"),
            (None, _, Some(false)) => "none".into(),
            _ => "unknown".into(),
        }
    }

    /// The vLLM arguments, when a parser is known: ` --enable-auto-tool-choice --tool-call-parser X`.
    pub fn vllm_args(&self) -> String {
        match (&self.parser, self.auto_tool_choice) {
            (Some(parser), true) => {
                format!(" --enable-auto-tool-choice --tool-call-parser {parser}")
            }
            _ => String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn default(text: &str) -> Vec<(String, String)> {
        vec![("default".to_string(), text.to_string())]
    }

    #[test]
    fn the_templates_markers_pick_the_parser() {
        // Each marker as the parser named in vLLM's tool_parsers reads it.
        for (model_type, template, parser) in [
            (
                "qwen2",
                "{% if tools %}<tool_call>{{ tool_call }}</tool_call>{% endif %}",
                "hermes",
            ),
            (
                "qwen3_moe",
                "{% if tools %}<tool_call>\n<function={{ name }}>{% endif %}",
                "qwen3_xml",
            ),
            (
                "llama",
                "{% if tools %}Environment: ipython{% endif %}",
                "llama3_json",
            ),
            (
                "mistral",
                "{% if tools %}[TOOL_CALLS]{% endif %}",
                "mistral",
            ),
            (
                "deepseek_v3",
                "{% if tools %}<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>f\n```json\n{% endif %}",
                "deepseek_v3",
            ),
            (
                "deepseek_v3",
                "{% if tools %}<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>{{ name }}<｜tool▁sep｜>{% endif %}",
                "deepseek_v31",
            ),
            (
                "kimi_k2",
                "{% if tools %}<|tool_calls_section_begin|>{% endif %}",
                "kimi_k2",
            ),
            (
                "glm4_moe",
                "{% if tools %}<tool_call>{{ name }}<arg_key>{% endif %}",
                "glm45",
            ),
            (
                "granite",
                "{% if tools %}<|tool_call|>{% endif %}",
                "granite",
            ),
            (
                "granitemoehybrid",
                "{% if tools %}<tool_call>{% endif %}",
                "granite4",
            ),
        ] {
            let found = recommend(model_type, Templates::Found(&default(template)));
            assert_eq!(found.parser.as_deref(), Some(parser), "{template}");
            assert!(found.auto_tool_choice);
            assert_eq!(
                found.vllm_args(),
                format!(" --enable-auto-tool-choice --tool-call-parser {parser}")
            );
        }
    }

    #[test]
    fn no_tools_unknown_formats_and_harmony() {
        let none = recommend("gemma2", Templates::Found(&default("{{ messages }}")));
        assert_eq!(
            (none.parser.as_deref(), none.recorded().as_str()),
            (None, "none")
        );
        assert_eq!(none.vllm_args(), "");
        let odd = recommend(
            "llama",
            Templates::Found(&default("{% if tools %}CALL {{ tools }}{% endif %}")),
        );
        assert_eq!(
            (odd.parser.as_deref(), odd.recorded().as_str()),
            (None, "unknown")
        );
        let unread = recommend("llama", Templates::NotRead);
        assert_eq!(unread.recorded(), "unknown");
        let harmony = recommend("gpt_oss", Templates::NotRead);
        assert_eq!(harmony.parser.as_deref(), Some("openai"));
        // A named tool_use template counts, as transformers picks it when tools are given.
        let named = vec![
            ("default".to_string(), "{{ messages }}".to_string()),
            ("tool_use".to_string(), "<tool_call>".to_string()),
        ];
        assert_eq!(
            recommend("llama", Templates::Found(&named))
                .parser
                .as_deref(),
            Some("hermes")
        );
        assert_eq!(
            from_recorded("qwen2", "hermes").parser.as_deref(),
            Some("hermes")
        );
        assert_eq!(from_recorded("qwen2", "none").recorded(), "none");
        assert_eq!(from_recorded("qwen2", "x; rm -rf /").parser, None);
        // A parser that needs a tool-aware template first is recorded so, and read back so.
        let r1 = vec![(
            "default".to_string(),
            "{{ m.tool_calls }}<｜tool▁calls▁begin｜>f\n```json\n".to_string(),
        )];
        let found = recommend("deepseek_v3", Templates::Found(&r1));
        assert_eq!(found.recorded(), "deepseek_v3:needs-chat-template");
        let read = from_recorded("deepseek_v3", &found.recorded());
        assert_eq!(
            (read.parser.as_deref(), read.auto_tool_choice),
            (Some("deepseek_v3"), false)
        );
        assert_eq!(
            recommend("llama", Templates::Absent).reason,
            "no chat template beside config.json (tokenizer_config.json or chat_template.jinja)"
        );
    }
}

#[cfg(test)]
mod published_templates {
    use super::*;
    use crate::registry::provenance::chat_templates;

    /// Real templates (fixtures/chat-templates) against the parser vLLM's tool calling docs name
    /// for each model family.
    #[test]
    fn published_templates_get_the_parser_vllm_documents() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/chat-templates");
        for (folder, model_type, parser) in [
            ("qwen2.5-7b-instruct", "qwen2", Some("hermes")),
            ("qwen3-8b", "qwen3", Some("hermes")),
            (
                "qwen3-coder-30b-a3b-instruct",
                "qwen3_moe",
                Some("qwen3_xml"),
            ),
            ("llama-3.1-8b-instruct", "llama", Some("llama3_json")),
            ("mistral-7b-instruct-v0.3", "mistral", Some("mistral")),
            // Renders calls, never shows the tools: the parser, but not auto tool choice.
            ("deepseek-r1", "deepseek_v3", Some("deepseek_v3")),
            ("kimi-k2-instruct", "kimi_k2", Some("kimi_k2")),
            ("granite-3.1-8b-instruct", "granitemoe", Some("granite")),
            ("gpt-oss-20b", "gpt_oss", Some("openai")),
            ("gemma-2-it", "gemma2", None),
            ("mistral-7b-instruct-v0.1", "mistral", None),
        ] {
            let (templates, _) = chat_templates(&root.join(folder))
                .unwrap()
                .unwrap_or_else(|| panic!("{folder} has a template"));
            let found = recommend(model_type, Templates::Found(&templates));
            assert_eq!(
                found.parser.as_deref(),
                parser,
                "{folder}: {}",
                found.reason
            );
            let auto = parser.is_some() && folder != "deepseek-r1";
            assert_eq!(found.auto_tool_choice, auto, "{folder}: {}", found.reason);
        }
    }
}
