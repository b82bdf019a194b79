//! Flag values read by the libraries' own parsers (`FromStr`, `EditVariant::parse`), so a
//! spelling is accepted or refused in one place. Where the set of values is closed, clap
//! gets the list too: `--help` shows it, a typo is answered with it, and the error exits
//! with status 2 like every other bad input.

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::error::{ContextKind, ContextValue, ErrorKind};
use pipelines::hidream::edit::EditVariant;
use pipelines::hidream::generate::Variant;
use pipelines::layers::Kernels;
use pipelines::schedulers::{Sampler, sampler};
use std::error::Error;
use std::str::FromStr;

type BoxedError = Box<dyn Error + Send + Sync + 'static>;

/// The canonical spellings, in the order `--help` lists them.
const DTYPES: [device::DType; 3] = [device::DType::F32, device::DType::F16, device::DType::BF16];
const EDIT_VARIANTS: [EditVariant; 2] = [EditVariant::E1Full, EditVariant::E1_1];
const GENERATE_VARIANTS: [Variant; 3] = [Variant::Full, Variant::Dev, Variant::Fast];

/// Exactly `names` (listed in `--help`), each read by `parse`.
fn one_of<T, E>(
    names: impl IntoIterator<Item = &'static str>,
    parse: fn(&str) -> Result<T, E>,
) -> impl TypedValueParser<Value = T>
where
    T: Clone + Send + Sync + 'static,
    E: Into<BoxedError> + 'static,
{
    PossibleValuesParser::new(names).try_map(move |name| parse(&name))
}

/// `--dtype`: f32, f16 or bf16, as candle's dtype. The device crate's parser also takes
/// torch spellings (`float16`, `half`); the programs keep to the three names they document.
pub fn dtype() -> impl TypedValueParser<Value = candle_core::DType> {
    device_dtype().map(candle_dtype)
}

/// `--dtype` as the device crate's dtype, for flags whose default the device chooses.
pub fn device_dtype() -> impl TypedValueParser<Value = device::DType> {
    one_of(DTYPES.map(device::DType::as_str), device::DType::from_str)
}

/// `--attention`: which kernels the layers run (`fused` or `naive`).
pub fn kernels() -> impl TypedValueParser<Value = Kernels> {
    one_of(Kernels::ALL.map(Kernels::as_str), Kernels::from_str)
}

/// `sd --scheduler`: a listed sampler name (short or AUTOMATIC1111's) in any case, with
/// spaces, hyphens or underscores between its words; the value is the listed name and
/// its sampler. `--help` lists the names, and anything else is a usage error listing them.
pub fn scheduler() -> SamplerName {
    SamplerName
}

#[derive(Clone, Copy, Debug)]
pub struct SamplerName;

impl TypedValueParser for SamplerName {
    type Value = (&'static str, Sampler);

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<Self::Value, clap::Error> {
        let text = value.to_string_lossy();
        Sampler::from_name(&text).ok_or_else(|| {
            let mut e = clap::Error::new(ErrorKind::InvalidValue).with_cmd(cmd);
            let flag = arg.map_or_else(|| "--scheduler".to_string(), ToString::to_string);
            e.insert(ContextKind::InvalidArg, ContextValue::String(flag));
            e.insert(ContextKind::InvalidValue, ContextValue::String(text.into()));
            let names = sampler::names().map(str::to_string).collect();
            e.insert(ContextKind::ValidValue, ContextValue::Strings(names));
            e
        })
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(sampler::names().map(PossibleValue::new)))
    }
}

/// HiDream-E1's `--variant`: `e1-full` or `e1.1`.
pub fn edit_variant() -> impl TypedValueParser<Value = EditVariant> {
    one_of(EDIT_VARIANTS.map(EditVariant::name), EditVariant::parse)
}

/// HiDream-I1's `--variant`: `full`, `dev` or `fast`.
pub fn generate_variant() -> impl TypedValueParser<Value = Variant> {
    one_of(GENERATE_VARIANTS.map(Variant::name), Variant::from_str)
}

/// A guidance-like scale: finite and 0 or more, named by the program's flag.
pub fn check_scale(flag: &str, value: f64) -> Result<(), crate::exit::Failure> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(crate::exit::bad(format!(
            "{flag} {value} must be a finite number, 0 or more"
        )))
    }
}

/// A flow-matching step count, bounded before a schedule is sized from it (see
/// `flow::MAX_STEPS`).
pub fn check_flow_steps(steps: usize) -> Result<(), crate::exit::Failure> {
    pipelines::schedulers::flow::check_steps(steps)
        .map_err(|e| crate::exit::bad(format!("--steps {steps}: {e}")))
}

pub fn candle_dtype(dtype: device::DType) -> candle_core::DType {
    match dtype {
        device::DType::F32 => candle_core::DType::F32,
        device::DType::F16 => candle_core::DType::F16,
        device::DType::BF16 => candle_core::DType::BF16,
    }
}

/// The candle device for `--device`, or why there is none (CUDA not compiled in, no
/// such GPU), as bad input. An NPU is refused here too; callers that can say more about
/// what does run on the NPU check for it first.
/// The device --device names, opened (for an NPU: its runtime and stream) for models
/// computing in `dtype`. An incomplete CANN is bad input naming what it tried; an f32 run on
/// an NPU says on stderr what it really computes in.
pub fn model_device(
    device: device::Device,
    dtype: candle_core::DType,
) -> Result<pipelines::model_tensor::ModelDevice, crate::exit::Failure> {
    let opened = pipelines::model_tensor::ModelDevice::open(device)
        .map_err(|e| crate::exit::bad(format!("--device {device}: {e}")))?;
    if dtype == candle_core::DType::F32
        && let Some(note) = opened.f32_compute_note()
    {
        eprintln!("{note}");
    }
    Ok(opened)
}

pub fn candle_device(device: device::Device) -> Result<candle_core::Device, crate::exit::Failure> {
    device
        .to_candle()
        .map_err(|e| crate::exit::bad(format!("--device {device}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    struct Flags {
        #[arg(long, default_value = "f32", value_parser = dtype())]
        dtype: candle_core::DType,
        #[arg(long, default_value = "fused", value_parser = kernels())]
        attention: Kernels,
        #[arg(long, default_value = "e1.1", value_parser = edit_variant())]
        variant: EditVariant,
        #[arg(long, default_value = "full", value_parser = generate_variant())]
        generate: Variant,
        #[arg(long, default_value = "cpu")]
        device: device::Device,
        #[arg(long, value_parser = scheduler())]
        scheduler: Option<(&'static str, Sampler)>,
    }

    fn parse(args: &[&str]) -> Result<Flags, clap::Error> {
        Flags::try_parse_from(std::iter::once("test").chain(args.iter().copied()))
    }

    #[test]
    fn defaults_and_every_listed_name_parse() {
        let flags = parse(&[]).unwrap();
        assert_eq!(flags.dtype, candle_core::DType::F32);
        assert_eq!(flags.attention, Kernels::Fused);
        assert_eq!(flags.variant, EditVariant::E1_1);
        assert_eq!(flags.generate, Variant::Full);
        assert_eq!(flags.device, device::Device::Cpu);
        for (name, dtype) in [
            ("f16", candle_core::DType::F16),
            ("bf16", candle_core::DType::BF16),
        ] {
            assert_eq!(parse(&["--dtype", name]).unwrap().dtype, dtype);
        }
        let flags = parse(&[
            "--attention",
            "naive",
            "--variant",
            "e1-full",
            "--generate",
            "fast",
            "--device",
            "cuda",
        ])
        .unwrap();
        assert_eq!(flags.attention, Kernels::Naive);
        assert_eq!(flags.variant, EditVariant::E1Full);
        assert_eq!(flags.generate, Variant::Fast);
        assert_eq!(flags.device, device::Device::Cuda(0));
        for name in sampler::names() {
            let parsed = parse(&["--scheduler", name]).unwrap().scheduler;
            assert_eq!(parsed, Sampler::from_name(name), "{name}");
        }
        // An A1111 name that is also a short one is recorded as the short one, as before.
        let (listed, _) = parse(&["--scheduler", "DDIM"]).unwrap().scheduler.unwrap();
        assert_eq!(listed, "ddim");
        let (listed, _) = parse(&["--scheduler", "dpm++_2m_sde_karras"])
            .unwrap()
            .scheduler
            .unwrap();
        assert_eq!(listed, "DPM++ 2M SDE Karras");
    }

    #[test]
    fn a_wrong_value_is_a_usage_error_that_lists_the_choices() {
        let e = parse(&["--dtype", "float16"]).unwrap_err();
        assert_eq!(e.exit_code(), i32::from(crate::exit::BAD_INPUT));
        assert!(e.to_string().contains("f32, f16, bf16"), "{e}");
        let e = parse(&["--attention", "flash"]).unwrap_err();
        assert!(e.to_string().contains("fused, naive"), "{e}");
        let e = parse(&["--scheduler", "DDIMScheduler"]).unwrap_err();
        assert_eq!(e.exit_code(), i32::from(crate::exit::BAD_INPUT));
        assert!(
            e.to_string().contains(
                "pndm, ddim, euler, euler-a, dpm++2m, heun, lms, DDIM, PLMS, Euler, \"Euler Karras\""
            ),
            "{e}"
        );
        let e = parse(&["--device", "tpu"]).unwrap_err();
        assert_eq!(e.exit_code(), i32::from(crate::exit::BAD_INPUT));
        assert!(e.to_string().contains("tpu"), "{e}");
    }
}
