//! Parameter bytes of a model component, from its safetensors headers alone: the files are
//! memory-mapped and only their JSON headers are read, so this costs nothing like a load.

use crate::hidream::HiDreamError;
use device::{DType, TensorsFile};
use safetensors::Dtype;
use std::path::{Path, PathBuf};

/// One component folder's weights as a pipeline would load them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentWeights {
    /// e.g. "transformer", "text_encoder_3", or the Llama folder's name.
    pub name: String,
    pub dir: PathBuf,
    /// All parameters once loaded with floating-point tensors at the chosen dtype.
    pub bytes: u64,
    /// The HiDream transformer's blocks (double- then single-stream), each as `bytes`
    /// counts them; empty for other components.
    pub block_bytes: Vec<u64>,
}

impl ComponentWeights {
    /// What stays on the compute device when blocks are streamed: everything but the
    /// blocks, plus the largest block.
    pub fn resident_when_offloaded(&self) -> u64 {
        let blocks: u64 = self.block_bytes.iter().sum();
        let largest = self.block_bytes.iter().copied().max().unwrap_or(0);
        self.bytes - blocks + largest
    }
}

/// Reads the headers of every weight file of `dir` (the files a loader would pick).
pub fn component_weights(
    name: &str,
    dir: &Path,
    dtype: DType,
) -> Result<ComponentWeights, HiDreamError> {
    let files = crate::weights::weight_files(dir).map_err(|e| HiDreamError::Config {
        path: dir.to_path_buf(),
        message: e.to_string(),
    })?;
    let mut bytes = 0;
    let mut blocks: Vec<(String, u64)> = Vec::new();
    for path in files {
        let file = TensorsFile::open(&path).map_err(|e| HiDreamError::Config {
            path: path.clone(),
            message: e.to_string(),
        })?;
        for tensor in file.names() {
            let Some(info) = file.info(&tensor) else {
                continue;
            };
            let numel: u64 = info.shape.iter().map(|&d| d as u64).product();
            let size = match info.dtype {
                Dtype::F64 | Dtype::F32 | Dtype::F16 | Dtype::BF16 => {
                    numel * dtype.size_in_bytes() as u64
                }
                _ => (info.data_offsets.1 - info.data_offsets.0) as u64,
            };
            bytes += size;
            if let Some(block) = block_of(&tensor) {
                match blocks.iter_mut().find(|(b, _)| *b == block) {
                    Some((_, total)) => *total += size,
                    None => blocks.push((block, size)),
                }
            }
        }
    }
    // Double-stream blocks first, each kind in index order.
    blocks.sort_by_key(|(b, _)| {
        let (kind, rest) = b.split_once('.').unwrap_or((b, ""));
        (
            kind != "double_stream_blocks",
            rest.parse::<usize>().unwrap_or(usize::MAX),
        )
    });
    Ok(ComponentWeights {
        name: name.to_string(),
        dir: dir.to_path_buf(),
        bytes,
        block_bytes: blocks.into_iter().map(|(_, b)| b).collect(),
    })
}

/// "double_stream_blocks.3" for "double_stream_blocks.3.block.attn1.to_q.weight".
fn block_of(tensor: &str) -> Option<String> {
    let mut parts = tensor.splitn(3, '.');
    let kind = parts.next()?;
    let index = parts.next()?;
    let streamed = kind == "double_stream_blocks" || kind == "single_stream_blocks";
    (streamed && index.parse::<usize>().is_ok()).then(|| format!("{kind}.{index}"))
}
