//! The `Device` value type and device kinds: what "npu:1" means.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The family of a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceKind {
    Npu,
    Cuda,
    Cpu,
}

impl DeviceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceKind::Npu => "npu",
            DeviceKind::Cuda => "cuda",
            DeviceKind::Cpu => "cpu",
        }
    }
}

impl fmt::Display for DeviceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One concrete device. Indices are the ones the vendor runtime uses, that is after
/// `ASCEND_RT_VISIBLE_DEVICES` / `CUDA_VISIBLE_DEVICES` re-indexing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Device {
    Cpu,
    Cuda(usize),
    Npu(usize),
}

impl Device {
    pub fn kind(self) -> DeviceKind {
        match self {
            Device::Cpu => DeviceKind::Cpu,
            Device::Cuda(_) => DeviceKind::Cuda,
            Device::Npu(_) => DeviceKind::Npu,
        }
    }

    /// The ordinal within its kind (0 for the CPU).
    pub fn index(self) -> usize {
        match self {
            Device::Cpu => 0,
            Device::Cuda(i) | Device::Npu(i) => i,
        }
    }
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Device::Cpu => f.write_str("cpu"),
            Device::Cuda(i) => write!(f, "cuda:{i}"),
            Device::Npu(i) => write!(f, "npu:{i}"),
        }
    }
}

impl Serialize for Device {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Reads back exactly what `Serialize` writes ("npu:1", "cuda:0", "cpu"), nothing looser.
impl<'de> Deserialize<'de> for Device {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse::<Device>()
            .ok()
            .filter(|device| device.to_string() == text)
            .ok_or_else(|| serde::de::Error::custom(format!("`{text}` is not a device id")))
    }
}

/// A device string that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{input}` is not a device: {why} (expected npu, npu:N, cuda, cuda:N or cpu)")]
pub struct ParseDeviceError {
    pub input: String,
    pub why: &'static str,
}

/// What a user asked for: a kind (first device of it) or an exact device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeviceRequest {
    /// `npu`, `cuda`, `cpu`: the first device of that kind.
    Kind(DeviceKind),
    /// `npu:1`, `cuda:0`.
    Exact(Device),
}

impl fmt::Display for DeviceRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceRequest::Kind(k) => k.fmt(f),
            DeviceRequest::Exact(d) => d.fmt(f),
        }
    }
}

impl FromStr for DeviceRequest {
    type Err = ParseDeviceError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let err = |why| ParseDeviceError {
            input: input.to_string(),
            why,
        };
        let text = input.trim().to_ascii_lowercase();
        let (kind, index) = match text.split_once(':') {
            Some((k, i)) => (k, Some(i)),
            None => (text.as_str(), None),
        };
        let kind = match kind {
            "npu" => DeviceKind::Npu,
            "cuda" | "gpu" => DeviceKind::Cuda,
            "cpu" => DeviceKind::Cpu,
            "" => return Err(err("it is empty")),
            _ => return Err(err("unknown device kind")),
        };
        let Some(index) = index else {
            return Ok(DeviceRequest::Kind(kind));
        };
        let index: usize = index
            .parse()
            .map_err(|_| err("the index after `:` is not a non-negative integer"))?;
        Ok(DeviceRequest::Exact(match kind {
            DeviceKind::Npu => Device::Npu(index),
            DeviceKind::Cuda => Device::Cuda(index),
            DeviceKind::Cpu if index == 0 => Device::Cpu,
            DeviceKind::Cpu => return Err(err("there is only one CPU device, cpu:0")),
        }))
    }
}

impl FromStr for Device {
    type Err = ParseDeviceError;

    /// Parses "npu:1", "cuda:0", "cpu". A bare kind means its device 0.
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        Ok(match input.parse::<DeviceRequest>()? {
            DeviceRequest::Exact(d) => d,
            DeviceRequest::Kind(DeviceKind::Npu) => Device::Npu(0),
            DeviceRequest::Kind(DeviceKind::Cuda) => Device::Cuda(0),
            DeviceRequest::Kind(DeviceKind::Cpu) => Device::Cpu,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_round_trip() {
        for text in ["npu:1", "cuda:0", "cpu", "npu:0"] {
            let device: Device = text.parse().unwrap();
            assert_eq!(device.to_string(), text);
        }
        assert_eq!("NPU".parse::<Device>().unwrap(), Device::Npu(0));
        assert_eq!(" cuda:3 ".parse::<Device>().unwrap(), Device::Cuda(3));
    }

    #[test]
    fn bare_kinds_are_requests_for_a_kind() {
        assert_eq!(
            "npu".parse::<DeviceRequest>().unwrap(),
            DeviceRequest::Kind(DeviceKind::Npu)
        );
        assert_eq!(
            "npu:2".parse::<DeviceRequest>().unwrap(),
            DeviceRequest::Exact(Device::Npu(2))
        );
    }

    #[test]
    fn rejects_garbage() {
        for bad in ["", "tpu", "npu:", "npu:-1", "npu:x", "cpu:1", "cuda:1:2"] {
            assert!(bad.parse::<Device>().is_err(), "{bad} should not parse");
        }
    }
}
