//! vLLM's supported architectures: the keys of its model registry
//! (`vllm/model_executor/models/registry.py`), embedded at build time. See the file's header for the
//! commit it was read from.

const REGISTRY: &str = include_str!("vllm_architectures.txt");

/// The registry categories of `architecture` (`text-generation`, `multimodal`, …), or `None` when
/// vLLM's registry does not list it.
pub fn vllm_categories(architecture: &str) -> Option<Vec<&'static str>> {
    REGISTRY
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.split_once('\t'))
        .find(|(name, _)| *name == architecture)
        .map(|(_, categories)| categories.split(',').map(str::trim).collect())
}

pub fn is_supported(architecture: &str) -> bool {
    vllm_categories(architecture).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_the_common_architectures() {
        for name in [
            "LlamaForCausalLM",
            "DeepseekV3ForCausalLM",
            "Gemma3ForConditionalGeneration",
            "GptOssForCausalLM",
        ] {
            assert!(is_supported(name), "{name}");
        }
        assert_eq!(
            vllm_categories("Gemma3ForConditionalGeneration").unwrap(),
            ["multimodal"]
        );
        assert!(!is_supported("NotARealForCausalLM"));
    }
}
