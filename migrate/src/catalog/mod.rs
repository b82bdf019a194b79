//! The one table of every rewrite rule and diagnostic code: `migrate rules` lists it,
//! `migrate explain CODE` prints an entry, and MIGRATION.md's tables are generated from it.
//! The entries themselves live next to their rules; this module only assembles them, and
//! the match below does not compile until every code has one.

pub mod markdown;

use crate::code::{Code, Entry};
use crate::notebook::rule as notebook;
use crate::python::rules::{
    amp, attention, backend_flags, bf16, cuda_method, device_argument, device_index,
    device_type_check, distributed, environment, float64, generator, guarded_imports, guards,
    optimizers, safetensors, torch_cuda, unresolved, vendor_stacks,
};
use crate::requirements::{cuda_packages, torch_npu};
use crate::rust::rules::{cuda_decisions, cudarc, device_strings, framework_device, macro_body};
use crate::rust::{device_dependency, manifest};
use crate::shell::{nccl_env, nvidia_smi, visible_devices};
use crate::{
    cuda_source, docs, helper, nesting, python, rust_crates, suppression, visible_devices_order,
};

/// The catalog entry of a code.
pub fn entry(code: Code) -> &'static Entry {
    match code {
        Code::PY001 => &device_argument::DEVICE_ARGUMENT,
        Code::PY002 => &cuda_method::CUDA_METHOD,
        Code::PY003 => &generator::GENERATOR,
        Code::PY004 => &torch_cuda::DEVICE_MODULE,
        Code::PY005 => &amp::AMP,
        Code::PY006 => &amp::AUTOCAST_DEVICE_TYPE,
        Code::PY007 => &distributed::DIST_BACKEND,
        Code::PY008 => &safetensors::SAFETENSORS_DEVICE,
        Code::PY009 => &device_index::INTEGER_DEVICE_INDEX,
        Code::PY010 => &environment::VISIBLE_DEVICES_ENV,
        Code::PY011 => &python::imports::HELPER_IMPORT,
        Code::PY012 => &attention::ATTENTION_SHIM,
        Code::PY013 => &optimizers::OPTIMIZER_SHIM,
        Code::PY014 => &device_type_check::ACCELERATOR_CHECK,
        Code::PY015 => &backend_flags::HF32_SWITCH,
        Code::PY016 => &guarded_imports::GUARDED_IMPORT,
        Code::PY017 => &attention::XFORMERS_TOGGLE,
        Code::PY101 => &attention::FLASH_ATTN,
        Code::PY102 => &attention::XFORMERS,
        Code::PY103 => &vendor_stacks::APEX,
        Code::PY104 => &vendor_stacks::TRITON_JIT,
        Code::PY105 => &vendor_stacks::CUDA_EXTENSION,
        Code::PY106 => &float64::FLOAT64_ON_DEVICE,
        Code::PY107 => &torch_cuda::DEVICE_CAPABILITY,
        Code::PY108 => &device_type_check::DEVICE_TYPE_CHECK,
        Code::PY109 => &distributed::DATA_PARALLEL,
        Code::PY110 => &torch_cuda::CUDA_ONLY_API,
        Code::PY111 => &distributed::NCCL_SPECIFIC,
        Code::PY112 => &backend_flags::TF32_FLAGS,
        Code::PY113 => &device_argument::UNHANDLED_CUDA_STRING,
        Code::PY114 => &bf16::HARD_CODED_BF16,
        Code::PY115 => &unresolved::UNRESOLVED_CUDA,
        Code::PY116 => &guards::GUARD_KEPT,
        Code::PY117 => &vendor_stacks::CUDA_ONLY_PACKAGE,
        Code::PY118 => &optimizers::OPTIMIZER_STATE,
        Code::PY119 => &optimizers::BNB_QUANTIZATION,
        Code::SH001 => &visible_devices::VISIBLE_DEVICES,
        Code::SH002 => &nvidia_smi::NVIDIA_SMI,
        Code::SH101 => &visible_devices_order::VISIBLE_DEVICES_ORDER,
        Code::SH102 => &nccl_env::NCCL_ENV,
        Code::SH103 => &nvidia_smi::NVIDIA_SMI_INLINE,
        Code::RQ001 => &cuda_packages::CUDA_ONLY_REQUIREMENT,
        Code::RQ002 => &cuda_packages::CUDA_INDEX_URL,
        Code::RQ003 => &torch_npu::ADD_TORCH_NPU,
        Code::RQ101 => &torch_npu::TORCH_NPU_PIN,
        Code::RQ102 => &cuda_packages::CUDA_PACKAGE_REVIEW,
        Code::MD101 => &docs::DOC_CUDA_INSTRUCTION,
        Code::NB101 => &notebook::NOTEBOOK_CUDA,
        Code::CU101 => &cuda_source::CUDA_SOURCE,
        Code::RS001 => &framework_device::CANDLE_DEVICE,
        Code::RS002 => &framework_device::TCH_DEVICE,
        Code::RS003 => &device_strings::PINNED_DEVICE_SELECTION,
        Code::RS101 => &cuda_decisions::CUDA_VARIANT_MATCH,
        Code::RS102 => &cuda_decisions::IS_CUDA_DECISION,
        Code::RS103 => &cudarc::CUDARC,
        Code::RS104 => &device_strings::PARSED_CUDA_DEVICE,
        Code::RS105 => &macro_body::MACRO_BODY,
        Code::RS106 => &device_strings::UNHANDLED_CUDA_STRING_RUST,
        Code::CG001 => &device_dependency::DEVICE_DEPENDENCY,
        Code::CG101 => &manifest::CUDA_FEATURE,
        Code::CG102 => &manifest::CUDA_ONLY_CRATE,
        Code::CG103 => &rust_crates::DEVICE_CRATE_LOCATION,
        Code::MG001 => &helper::HELPER_MODULE_NAME,
        Code::MG002 => &python::FIXPOINT_CAP,
        Code::MG003 => &nesting::TOO_DEEP,
        Code::MG004 => &suppression::UNUSED_SUPPRESSION,
    }
}

/// Every entry, in listing order.
pub fn entries() -> impl Iterator<Item = &'static Entry> {
    Code::ALL.iter().map(|&code| entry(code))
}

/// The entry for a code a user typed, in any case; None for an unknown code.
pub fn lookup(code: &str) -> Option<&'static Entry> {
    Code::parse(code).map(entry)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::code::Kind;
    use std::collections::HashSet;

    #[test]
    fn every_code_maps_to_its_own_entry() {
        for &code in Code::ALL {
            assert_eq!(entry(code).code, code, "the match sends {code} elsewhere");
        }
    }

    #[test]
    fn codes_and_names_are_unique_and_well_formed() {
        let mut codes = HashSet::new();
        let mut names = HashSet::new();
        for c in entries() {
            let code = c.code.as_str();
            assert!(codes.insert(code), "duplicate code {code}");
            assert!(names.insert(c.name), "duplicate name {}", c.name);
            assert_eq!(code.len(), 5, "{code}");
            assert!(code[..2].bytes().all(|b| b.is_ascii_uppercase()), "{code}");
            let number: u32 = code[2..].parse().expect("three digits");
            match c.kind {
                Kind::Rewrite => {
                    assert!(number < 100, "{code} is a rewrite numbered as a diagnostic")
                }
                Kind::Diagnostic => {
                    assert!(number >= 100 || code.starts_with("MG"), "{code}")
                }
            }
            assert!(
                c.name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                "{code}: names are kebab-case"
            );
            assert!(!c.explanation.is_empty() && !c.fix.is_empty() && !c.guide.is_empty());
            if let Some(severities) = c.severities {
                assert!(
                    severities.starts_with(c.severity.as_str()),
                    "{code}: the guide's severities start with the default"
                );
            }
        }
    }

    #[test]
    fn lookup_ignores_case() {
        assert_eq!(lookup("py101").map(|c| c.name), Some("flash-attn"));
        assert!(lookup("XX999").is_none());
    }
}
