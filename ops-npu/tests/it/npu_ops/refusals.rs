//! Bad requests are refused before launch with the op, the argument and the SoC named,
//! and leave nothing allocated.

use super::support::*;
use crate::common::Rng;
use candle_core::DType;
use ops_npu::npu::{NpuDType, NpuTensor, ops};

#[test]
fn the_310p_refuses_bf16_and_f32_upsampling_before_launch() {
    let Some(env) = open_variant(
        crate::doubles::FakeAscend::new().soc("Ascend310P3"),
        "an Ascend310P3",
    ) else {
        return;
    };
    let s = &env.s;
    let mut rng = Rng::new(501);
    let x16 = to_npu(s, &random(&mut rng, &[1, 2, 3, 3], DType::F16));
    let x32 = to_npu(s, &random(&mut rng, &[1, 2, 3, 3], DType::F32));
    // bf16 tensors cannot even be computed with: the cast into bf16 is refused.
    let err = ops::cast(s, &x16, NpuDType::BF16).unwrap_err().to_string();
    assert!(
        err.contains("aclnnCast") && err.contains("Ascend310P3") && err.contains("bf16"),
        "{err}"
    );
    // The doc: upsampling takes no FLOAT32 on Atlas inference products; f16 runs.
    let err = ops::upsample_nearest2d(s, &x32, 6, 6)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("aclnnUpsampleNearest2d") && err.contains("self") && err.contains("f32"),
        "{err}"
    );
    assert!(ops::upsample_nearest2d(s, &x16, 6, 6).is_ok());
    assert_no_leaked_descriptors(&env);
}

#[test]
fn shape_and_dtype_mistakes_name_the_argument() {
    let env = open();
    let s = &env.s;
    let a = NpuTensor::upload(s, &[1.0f32; 6], &[2, 3]).unwrap();
    let b = NpuTensor::upload(s, &[1.0f32; 8], &[2, 4]).unwrap();
    let h = NpuTensor::upload(s, &[half::f16::ONE; 6], &[2, 3]).unwrap();
    let err = ops::add(s, &a, &b).unwrap_err().to_string();
    assert!(err.starts_with("other:"), "{err}");
    let err = ops::mul(s, &a, &h).unwrap_err().to_string();
    assert!(
        err.contains("aclnnMul") && err.contains("cast first"),
        "{err}"
    );
    let err = ops::batch_matmul(s, &a, &b).unwrap_err().to_string();
    assert!(err.starts_with("self:"), "{err}");
    let err = ops::softmax(s, &a, 2).unwrap_err().to_string();
    assert!(err.starts_with("dim:"), "{err}");
    let ids = NpuTensor::upload(s, &[0.0f32], &[1]).unwrap();
    let err = ops::index_select(s, &a, 0, &ids).unwrap_err().to_string();
    assert!(err.starts_with("index:"), "{err}");
    let err = a.reshape(&[4, 2]).unwrap_err().to_string();
    assert!(err.starts_with("shape:"), "{err}");
    let err = a
        .transpose(0, 1)
        .unwrap()
        .reshape(&[6])
        .unwrap_err()
        .to_string();
    assert!(err.contains("contiguous"), "{err}");
    assert_no_leaked_descriptors(&env);
}
