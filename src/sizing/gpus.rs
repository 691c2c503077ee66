//! GPUs by the total memory the CUDA runtime reports (`torch.cuda.mem_get_info()[1]`), which is what
//! vLLM multiplies by `--gpu-memory-utilization` — not the marketing figure. Each entry cites where
//! the figure was seen.

use crate::units::GIB;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gpu {
    pub name: &'static str,
    pub memory_bytes: u64,
    /// Hopper / Blackwell decide MLA's forced block size and vLLM's serve defaults.
    pub generation: Generation,
    pub source: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Generation {
    Turing,
    Ampere,
    Ada,
    Hopper,
    Blackwell,
}

const MIB: u64 = 1024 * 1024;

const fn gib_hundredths(hundredths: u64) -> u64 {
    hundredths * (1 << 30) / 100
}

pub const CATALOGUE: &[Gpu] = &[
    Gpu { name: "T4", memory_bytes: 15_360 * MIB, generation: Generation::Turing, source: "nvidia-smi 15360MiB" },
    Gpu { name: "A10G", memory_bytes: 23_028 * MIB, generation: Generation::Ampere, source: "nvidia-smi 23028MiB" },
    Gpu { name: "L4", memory_bytes: 23_034 * MIB, generation: Generation::Ada, source: "nvidia-smi 23034MiB" },
    Gpu { name: "RTX-3090", memory_bytes: gib_hundredths(2358), generation: Generation::Ampere, source: "torch 23.58 GiB (vllm-memory.md §5)" },
    Gpu { name: "RTX-4090", memory_bytes: gib_hundredths(2365), generation: Generation::Ada, source: "torch 23.65 GiB" },
    Gpu { name: "A100-40GB", memory_bytes: 40_960 * MIB, generation: Generation::Ampere, source: "nvidia-smi 40960MiB" },
    Gpu { name: "L40S", memory_bytes: 46_068 * MIB, generation: Generation::Ada, source: "nvidia-smi 46068MiB" },
    Gpu { name: "A100-80GB", memory_bytes: 81_920 * MIB, generation: Generation::Ampere, source: "nvidia-smi 81920MiB" },
    Gpu { name: "H100-80GB", memory_bytes: gib_hundredths(7919), generation: Generation::Hopper, source: "torch 79.19 GiB (llm-d-planner accuracy report)" },
    Gpu { name: "H200", memory_bytes: 143_771 * MIB, generation: Generation::Hopper, source: "nvidia-smi 143771MiB (vllm-memory.md §5)" },
    Gpu { name: "B200", memory_bytes: gib_hundredths(17835), generation: Generation::Blackwell, source: "torch 178.35 GiB (vllm-memory.md §5)" },
];

/// Catalogue lookup, case-insensitive and tolerant of the spellings people use
/// (`h100`, `H100-80GB`, `nvidia h100 80gb hbm3`, `rtx4090`).
pub fn find(name: &str) -> Option<&'static Gpu> {
    let wanted = normalise(name);
    let wanted = wanted.trim_start_matches("nvidia");
    CATALOGUE.iter().find(|gpu| {
        let known = normalise(gpu.name);
        known == wanted
            || aliases(gpu.name).iter().any(|alias| normalise(alias) == wanted)
    })
}

fn aliases(name: &str) -> &'static [&'static str] {
    match name {
        "H100-80GB" => &["H100", "H100-SXM", "H100-80GB-HBM3", "H100 SXM5 80GB"],
        "A100-80GB" => &["A100-SXM4-80GB", "A100-80G"],
        "A100-40GB" => &["A100", "A100-SXM4-40GB", "A100-40G"],
        "RTX-3090" => &["GeForce RTX 3090", "3090"],
        "RTX-4090" => &["GeForce RTX 4090", "4090"],
        "H200" => &["H200-141GB"],
        "B200" => &["B200-180GB"],
        _ => &[],
    }
}

fn normalise(name: &str) -> String {
    name.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_lowercase()).collect()
}

pub fn names() -> Vec<&'static str> {
    CATALOGUE.iter().map(|gpu| gpu.name).collect()
}

/// A GPU given only by its memory (`--gpu-memory`): assume a current data-centre part.
pub fn custom(memory_bytes: u64) -> Gpu {
    Gpu { name: "custom", memory_bytes, generation: Generation::Hopper, source: "--gpu-memory" }
}

impl Gpu {
    pub fn memory_gib(&self) -> f64 {
        self.memory_bytes as f64 / GIB
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_gpus_by_the_names_people_type() {
        assert_eq!(find("h100").unwrap().name, "H100-80GB");
        assert_eq!(find("NVIDIA H100 80GB HBM3").unwrap().name, "H100-80GB");
        assert_eq!(find("rtx4090").unwrap().name, "RTX-4090");
        assert_eq!(find("l40s").unwrap().name, "L40S");
        assert!(find("tpu-v5").is_none());
    }

    #[test]
    fn h100_is_79_19_gib_as_torch_reports_it() {
        assert!((find("H100").unwrap().memory_gib() - 79.19).abs() < 0.005);
    }

    #[test]
    fn catalogue_is_sorted_by_memory() {
        assert!(CATALOGUE.windows(2).all(|w| w[0].memory_bytes <= w[1].memory_bytes));
    }
}
