//! 2-d convolution, and the nearest-neighbour resize that precedes it in upsampling blocks.

use super::{Kernels, npu};
use crate::model_tensor::{Tensor, VarBuilder};
use candle_core::{DType, Result};
use ops_npu::candle_ops::{self, Conv2dParams, composite};
use ops_npu::npu::ops;

/// The sizes of a [`Conv2d`] with a square kernel (torch's `nn.Conv2d(in_channels,
/// out_channels, kernel_size, stride, padding, bias)`). `Default` gives torch's defaults
/// (stride 1, no padding, with bias) and a 1x1 kernel; the channels must always be set:
/// `Conv2dConfig { in_channels, out_channels, kernel_size: 3, padding: 1, ..Default::default() }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conv2dConfig {
    pub in_channels: usize,
    pub out_channels: usize,
    pub kernel_size: usize,
    pub stride: usize,
    /// Zeros added on every side.
    pub padding: usize,
    /// Whether the layer has (and the weights hold) a bias.
    pub bias: bool,
}

impl Default for Conv2dConfig {
    fn default() -> Self {
        Self {
            in_channels: 0,
            out_channels: 0,
            kernel_size: 1,
            stride: 1,
            padding: 0,
            bias: true,
        }
    }
}

/// Widest output a 3x3 convolution may have to take the Winograd path. Its transformed
/// weights (16/9 the size of the originals) are kept beside them; up to 640 channels that
/// costs about 0.2 GB for the SD UNet, where the 1280-channel convolutions would add 1.5 GB
/// for layers that run at 16x16 and 8x8, where the GEMMs are smallest anyway.
const WINOGRAD_MAX_CHANNELS: usize = 640;

/// A convolution layer. With [`Kernels::Fused`] on the CPU it runs ops-npu's convolution:
/// f32 3x3 stride-1 convolutions of up to 640 outputs (`WINOGRAD_MAX_CHANNELS`) by Winograd,
/// with the weights transformed here once at load; the others by im2col + GEMM. With
/// [`Kernels::Naive`], and on other devices, candle's conv2d.
#[derive(Debug, Clone)]
pub struct Conv2d {
    weight: Tensor,
    bias: Option<Tensor>,
    params: Conv2dParams,
    kernels: Kernels,
    /// Winograd-transformed weights, for the convolutions that take that path.
    winograd: Option<candle_core::Tensor>,
}

impl Conv2d {
    /// `weight` (and `bias`) under `vb`, in torch's layout.
    pub fn load(vb: VarBuilder, config: Conv2dConfig, kernels: Kernels) -> Result<Conv2d> {
        let Conv2dConfig {
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            bias,
        } = config;
        let weight = vb.get(
            (out_channels, in_channels, kernel_size, kernel_size),
            "weight",
        )?;
        let bias = if bias {
            Some(vb.get(out_channels, "bias")?)
        } else {
            None
        };
        let params = Conv2dParams {
            kernel_size,
            stride,
            padding,
        };
        let winograd = if kernels == Kernels::Fused
            && params.fits_winograd()
            && out_channels <= WINOGRAD_MAX_CHANNELS
            && weight.dtype() == DType::F32
            && weight.device().is_cpu()
        {
            Some(candle_ops::winograd_weight(weight.as_candle()?)?)
        } else {
            None
        };
        Ok(Conv2d {
            weight,
            bias,
            params,
            kernels,
            winograd,
        })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let x = match x {
            Tensor::Candle(x) => x,
            Tensor::Npu(x) => return self.forward_npu(x),
        };
        let weight = npu::candle("conv2d", &self.weight)?;
        let bias = self
            .bias
            .as_ref()
            .map(|b| npu::candle("conv2d", b))
            .transpose()?;
        Ok(Tensor::Candle(match (self.kernels, &self.winograd) {
            (Kernels::Naive, _) => composite::conv2d(x, weight, bias, &self.params)?,
            (Kernels::Fused, Some(u)) if x.dtype() == DType::F32 && x.device().is_cpu() => {
                candle_ops::conv2d_winograd(x, u, bias)?
            }
            (Kernels::Fused, _) => candle_ops::conv2d(x, weight, bias, &self.params)?,
        }))
    }

    /// aclnnConvolution (NCHW), the bias added by the kernel.
    fn forward_npu(&self, x: &crate::model_tensor::NpuValue) -> Result<Tensor> {
        let [w] = npu::operands("conv2d", x, [&self.weight])?;
        let bias = match &self.bias {
            Some(b) => Some(npu::operands("conv2d bias", x, [b])?[0].tensor()),
            None => None,
        };
        let params = ops::Conv2d {
            stride: self.params.stride,
            padding: self.params.padding,
            ..ops::Conv2d::default()
        };
        let y = ops::conv2d(x.context().stream(), x.tensor(), w.tensor(), bias, params);
        npu::wrap(x, y)
    }
}

/// Nearest-neighbour resize of an NCHW tensor to `(height, width)`.
pub fn upsample_nearest(x: &Tensor, height: usize, width: usize) -> Result<Tensor> {
    x.upsample_nearest2d(height, width)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;
    use std::collections::HashMap;

    fn both(kernel: usize, stride: usize, padding: usize, shape: (usize, usize, usize, usize)) {
        let dev = Device::Cpu;
        let (b, c, h, w) = shape;
        let c_out = 5;
        let mut map = HashMap::new();
        map.insert(
            "weight".to_string(),
            candle_core::Tensor::randn(0f32, 1.0, (c_out, c, kernel, kernel), &dev).expect("w"),
        );
        map.insert(
            "bias".to_string(),
            candle_core::Tensor::randn(0f32, 1.0, c_out, &dev).expect("b"),
        );
        let vb = VarBuilder::from_tensors(map, DType::F32, &dev);
        let x = Tensor::randn(0f32, 1.0, (b, c, h, w), &dev).expect("x");
        let config = Conv2dConfig {
            in_channels: c,
            out_channels: c_out,
            kernel_size: kernel,
            stride,
            padding,
            bias: true,
        };
        let make = |k| Conv2d::load(vb.clone(), config, k).expect("conv");
        let ours = make(Kernels::Fused).forward(&x).expect("fused");
        let theirs = make(Kernels::Naive).forward(&x).expect("naive");
        assert_eq!(ours.dims(), theirs.dims());
        let diff = (ours.to_host().expect("ours") - theirs.to_host().expect("theirs"))
            .and_then(|d| d.abs())
            .and_then(|d| d.flatten_all())
            .and_then(|d| d.max(0))
            .and_then(|d| d.to_scalar::<f32>())
            .expect("diff");
        assert!(diff < 1e-4, "k{kernel} s{stride} p{padding}: {diff}");
    }

    // candle's conv2d is the independent reference here: a different algorithm (tiled
    // NHWC im2col) for the same operator. 3x3 stride-1 padding-1 cases take the Winograd
    // path (odd and tiny sizes included); the others the im2col path.
    #[test]
    fn fused_convolution_matches_candle_conv2d() {
        both(3, 1, 1, (2, 3, 7, 9));
        both(3, 1, 1, (1, 4, 1, 1));
        both(3, 1, 1, (2, 3, 2, 3));
        both(3, 1, 0, (1, 3, 6, 5));
        both(3, 1, 2, (1, 2, 4, 3));
        both(5, 1, 2, (2, 2, 6, 7));
        both(3, 2, 1, (2, 4, 8, 6));
        both(3, 2, 0, (1, 2, 9, 9));
        both(1, 1, 0, (2, 6, 5, 4));
        both(1, 1, 0, (1, 6, 5, 4));
    }

    #[test]
    fn a_convolution_without_bias_loads_no_bias() {
        let dev = Device::Cpu;
        let weight = candle_core::Tensor::ones((1, 1, 1, 1), DType::F32, &dev).expect("w");
        let vb =
            VarBuilder::from_tensors(HashMap::from([("weight".into(), weight)]), DType::F32, &dev);
        let config = Conv2dConfig {
            in_channels: 1,
            out_channels: 1,
            bias: false,
            ..Default::default()
        };
        let x = Tensor::new(&[[[[2f32]]]], &dev).expect("x");
        for kernels in Kernels::ALL {
            let y = Conv2d::load(vb.clone(), config, kernels)
                .and_then(|conv| conv.forward(&x))
                .and_then(|y| y.flatten_all())
                .and_then(|y| y.to_vec1::<f32>())
                .expect("conv");
            assert_eq!(y, [2.0], "{kernels}");
        }
    }
}
