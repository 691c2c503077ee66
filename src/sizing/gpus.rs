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
    /// GPUs joined by NVLink (SXM boards, NVL pairs). Tensor parallelism over PCIe alone keeps little
    /// communication memory: NCCL opens few channels and vLLM's custom all-reduce stays off.
    pub nvlink: bool,
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

/// Sorted by memory, so the first entry that fits is the smallest. Where no CUDA-runtime figure was
/// found, the `nvidia-smi` total is used; the runtime reports 0.4–0.7 GiB less on the GPUs where both
/// are known (H100, A100, RTX 3090), so `--gpu-memory` is the precise way for those.
pub const CATALOGUE: &[Gpu] = &[
    Gpu {
        name: "T4",
        memory_bytes: 15_360 * MIB,
        generation: Generation::Turing,
        nvlink: false,
        source: "nvidia-smi 15360MiB (modal-labs/modal-client#2797)",
    },
    Gpu {
        name: "A10G",
        memory_bytes: 23_028 * MIB,
        generation: Generation::Ampere,
        nvlink: false,
        source: "nvidia-smi 23028MiB (NVIDIA/DCGM#232)",
    },
    Gpu {
        name: "L4",
        memory_bytes: 23_034 * MIB,
        generation: Generation::Ada,
        nvlink: false,
        source: "nvidia-smi 23034MiB (modal-labs/modal-client#2797)",
    },
    Gpu {
        name: "RTX-3090",
        memory_bytes: gib_hundredths(2358),
        generation: Generation::Ampere,
        nvlink: false,
        source: "vLLM total_gpu_memory 23.58GiB (vllm-project/vllm#10517)",
    },
    Gpu {
        name: "RTX-4090",
        memory_bytes: 24_564 * MIB,
        generation: Generation::Ada,
        nvlink: false,
        source: "nvidia-smi 24564MiB (RLinf/RLinf#255)",
    },
    Gpu {
        name: "RTX-5090",
        memory_bytes: 32_607 * MIB,
        generation: Generation::Blackwell,
        nvlink: false,
        source: "nvidia-smi 32607MiB (noonghunna/club-3090#1261)",
    },
    Gpu {
        name: "A100-40GB",
        memory_bytes: gib_hundredths(3938),
        generation: Generation::Ampere,
        nvlink: true,
        source: "vLLM total_gpu_memory 39.38GiB (vllm-project/vllm#16570)",
    },
    Gpu {
        name: "A40",
        memory_bytes: 46_068 * MIB,
        generation: Generation::Ampere,
        nvlink: false,
        source: "nvidia-smi 46068MiB (guqiong96/Lvllm#35)",
    },
    Gpu {
        name: "L40S",
        memory_bytes: 46_068 * MIB,
        generation: Generation::Ada,
        nvlink: false,
        source: "nvidia-smi 46068MiB (modal-labs/modal-client#2797)",
    },
    Gpu {
        name: "RTX-A6000",
        memory_bytes: 49_140 * MIB,
        generation: Generation::Ampere,
        nvlink: false,
        source: "nvidia-smi 49140MiB (noonghunna/club-3090#1047)",
    },
    Gpu {
        name: "H100-80GB",
        memory_bytes: gib_hundredths(7919),
        generation: Generation::Hopper,
        nvlink: true,
        source: "vLLM total_memory=79.19GiB (llm-d-planner v0.19.0 accuracy logs)",
    },
    Gpu {
        name: "A100-80GB",
        memory_bytes: gib_hundredths(7925),
        generation: Generation::Ampere,
        nvlink: true,
        source: "vLLM 'Free memory on device (67.24/79.25 GiB)' (ovg-project/kvcached#110)",
    },
    Gpu {
        name: "H100-NVL",
        memory_bytes: 95_830 * MIB,
        generation: Generation::Hopper,
        nvlink: true,
        source: "nvidia-smi 95830MiB (NVIDIA/gpu-admin-tools#4)",
    },
    Gpu {
        name: "H200",
        memory_bytes: 143_771 * MIB,
        generation: Generation::Hopper,
        nvlink: true,
        source: "nvidia-smi 143771MiB (NVIDIA/cuda-samples#311)",
    },
    Gpu {
        name: "B200",
        memory_bytes: gib_hundredths(17835),
        generation: Generation::Blackwell,
        nvlink: true,
        source: "CUDA total global memory 178.35 GiB (pytorch/ao#4002)",
    },
];

/// MIG slices (`--gpu H100:3g.40gb`), each with the memory `nvidia-smi mig -lgip` prints for the
/// profile (GiB). Where drivers print different sizes for one profile (R525 prints less than R570 on
/// H100, for one), the smallest printed figure is used, so a verdict holds on either.
pub const MIG_PROFILES: &[Gpu] = &[
    mig("A100-40GB:1g.5gb", 475, Generation::Ampere, A100_40_MIG),
    mig("A100-40GB:2g.10gb", 962, Generation::Ampere, A100_40_MIG),
    mig("A100-40GB:3g.20gb", 1950, Generation::Ampere, A100_40_MIG),
    mig("A100-40GB:4g.20gb", 1950, Generation::Ampere, A100_40_MIG),
    mig("A100-40GB:7g.40gb", 3925, Generation::Ampere, A100_40_MIG),
    mig("A100-80GB:1g.10gb", 950, Generation::Ampere, A100_80_MIG),
    mig("A100-80GB:2g.20gb", 1950, Generation::Ampere, A100_80_MIG),
    mig("A100-80GB:3g.40gb", 3925, Generation::Ampere, A100_80_MIG),
    mig("A100-80GB:4g.40gb", 3925, Generation::Ampere, A100_80_MIG),
    mig("A100-80GB:7g.80gb", 7875, Generation::Ampere, A100_80_MIG),
    mig("H100-80GB:1g.10gb", 962, Generation::Hopper, H100_MIG),
    mig("H100-80GB:1g.20gb", 1950, Generation::Hopper, H100_MIG),
    mig("H100-80GB:2g.20gb", 1950, Generation::Hopper, H100_MIG),
    mig("H100-80GB:3g.40gb", 3925, Generation::Hopper, H100_MIG),
    mig("H100-80GB:4g.40gb", 3925, Generation::Hopper, H100_MIG),
    mig("H100-80GB:7g.80gb", 7900, Generation::Hopper, H100_MIG),
    mig("H200:1g.18gb", 1600, Generation::Hopper, H200_MIG),
    mig("H200:1g.35gb", 3225, Generation::Hopper, H200_MIG),
    mig("H200:2g.35gb", 3225, Generation::Hopper, H200_MIG),
    mig("H200:3g.71gb", 6950, Generation::Hopper, H200_MIG),
    mig("H200:4g.71gb", 6950, Generation::Hopper, H200_MIG),
    mig("H200:7g.141gb", 13975, Generation::Hopper, H200_MIG),
    mig("B200:1g.23gb", 2050, Generation::Blackwell, B200_MIG),
    mig("B200:1g.45gb", 4425, Generation::Blackwell, B200_MIG),
    mig("B200:2g.45gb", 4425, Generation::Blackwell, B200_MIG),
    mig("B200:3g.90gb", 8900, Generation::Blackwell, B200_MIG_LARGE),
    mig("B200:4g.90gb", 8900, Generation::Blackwell, B200_MIG_LARGE),
    mig(
        "B200:7g.180gb",
        17850,
        Generation::Blackwell,
        B200_MIG_LARGE,
    ),
];

const A100_40_MIG: &str = "nvidia-smi mig -lgip on A100-SXM4-40GB / A100-PCIE-40GB (NVIDIA MIG user guide example; OpenShift blog 2025: 7g.40gb 39.38; PCIe: 9.75/19.62/39.50)";
const A100_80_MIG: &str = "nvidia-smi mig -lgip on A100 80GB PCIe (driver 515.86.01) and HGX A100 (7g.80gb 78.75); MLSysOps/MIGProfiler README (SXM4: 39.50/79.25)";
const H100_MIG: &str = "nvidia-smi mig -lgip on H100 PCIe and SXM, driver 525.125.06 (Scaleway docs, Google Cloud A3 docs); driver 570.169 prints 9.75/19.62/39.50/79.25";
const H200_MIG: &str = "nvidia-smi mig -lgip pasted in NVIDIA/mig-parted#120 (driver not shown)";
const B200_MIG: &str = "nvidia-smi mig -lgip in NVIDIA/mig-parted PRs #166 and #187 (1g.23gb: 22.00 in Jan 2025, 20.50 from Mar 2025)";
const B200_MIG_LARGE: &str = "a table re-typed from nvidia-smi mig -lgip in a public repository note (not a raw paste; to confirm)";

const fn mig(
    name: &'static str,
    hundredths: u64,
    generation: Generation,
    source: &'static str,
) -> Gpu {
    Gpu {
        name,
        memory_bytes: gib_hundredths(hundredths),
        generation,
        // A MIG slice talks to no other GPU over NVLink.
        nvlink: false,
        source,
    }
}

/// Catalogue lookup, case-insensitive and tolerant of the spellings people use
/// (`h100`, `H100-80GB`, `nvidia h100 80gb hbm3`, `rtx4090`).
pub fn find(name: &str) -> Option<&'static Gpu> {
    if let Some((base, profile)) = name.split_once(':') {
        let base = find(base)?;
        let wanted = format!("{}:{}", base.name, profile.trim().to_ascii_lowercase());
        return MIG_PROFILES.iter().find(|slice| slice.name == wanted);
    }
    let wanted = normalise(name);
    let wanted = wanted.trim_start_matches("nvidia");
    CATALOGUE.iter().find(|gpu| {
        let known = normalise(gpu.name);
        known == wanted
            || aliases(gpu.name)
                .iter()
                .any(|alias| normalise(alias) == wanted)
    })
}

fn aliases(name: &str) -> &'static [&'static str] {
    match name {
        "H100-80GB" => &["H100", "H100-SXM", "H100-80GB-HBM3", "H100 SXM5 80GB"],
        "A100-80GB" => &["A100-SXM4-80GB", "A100-80G"],
        "A100-40GB" => &["A100", "A100-SXM4-40GB", "A100-40G"],
        "RTX-3090" => &["GeForce RTX 3090", "3090"],
        "RTX-4090" => &["GeForce RTX 4090", "4090"],
        "RTX-5090" => &["GeForce RTX 5090", "5090"],
        "RTX-A6000" => &["A6000", "RTX A6000"],
        "H100-NVL" => &["H100 NVL", "H100-94GB"],
        "H200" => &["H200-141GB"],
        "B200" => &["B200-180GB"],
        _ => &[],
    }
}

fn normalise(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

pub fn names() -> Vec<&'static str> {
    CATALOGUE.iter().map(|gpu| gpu.name).collect()
}

/// The MIG slices of the GPU `gpu` is or is a slice of, smallest first.
pub fn mig_slices_of(gpu: &Gpu) -> Vec<&'static Gpu> {
    let base = gpu.name.split(':').next().unwrap_or(gpu.name);
    let mut slices: Vec<&'static Gpu> = MIG_PROFILES
        .iter()
        .filter(|slice| slice.name.split(':').next() == Some(base))
        .collect();
    slices.sort_by_key(|slice| slice.memory_bytes);
    slices
}

/// A GPU given only by its memory (`--gpu-memory`): assume a current data-centre part.
pub fn custom(memory_bytes: u64) -> Gpu {
    Gpu {
        name: "custom",
        memory_bytes,
        generation: Generation::Hopper,
        nvlink: true,
        source: "--gpu-memory",
    }
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
        assert!(
            CATALOGUE
                .windows(2)
                .all(|w| w[0].memory_bytes <= w[1].memory_bytes)
        );
    }
}
