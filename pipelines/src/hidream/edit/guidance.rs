//! Combining the guided predictions (already cut to the noisy latent's width and negated).

use super::variant::EditSettings;
use crate::hidream::HiDreamError;
use candle_core::Tensor;

/// Keeps `pred_text` from growing past the full condition's per-position size: the norm is
/// over channels, so each latent position is rescaled on its own, never amplified.
fn clip_to_norm(pred_text: &Tensor, full: &Tensor) -> Result<Tensor, HiDreamError> {
    let channel_norm =
        |t: &Tensor| -> candle_core::Result<Tensor> { t.sqr()?.sum_keepdim(1)?.sqrt() };
    let ratio = channel_norm(full)?.div(&(channel_norm(pred_text)? + 1e-8)?)?;
    let scale = ratio.clamp(0f32, 1f32)?;
    Ok(pred_text.broadcast_mul(&scale)?)
}

/// The three-way editing guidance. With clip_cfg_norm the conditions are
/// (prompt + zero image, negative + image, prompt + image) and
/// `uncond + ig * (clip(image + g * (full - image)) - uncond)`; without, they are
/// (negative + zero image, negative + image, prompt + image) and
/// `uncond + ig * (image - uncond) + g * (full - image)`.
pub fn combine_image_guidance(
    uncond: &Tensor,
    image: &Tensor,
    full: &Tensor,
    settings: &EditSettings,
) -> Result<Tensor, HiDreamError> {
    let (g, ig) = (settings.guidance_scale, settings.image_guidance_scale);
    if settings.clip_cfg_norm {
        let pred_text = (image + ((full - image)? * g)?)?;
        let pred_text = clip_to_norm(&pred_text, full)?;
        Ok((uncond + ((pred_text - uncond)? * ig)?)?)
    } else {
        let towards_image = (uncond + ((image - uncond)? * ig)?)?;
        Ok((towards_image + ((full - image)? * g)?)?)
    }
}

/// The refine stage's two-way guidance: `uncond + g * (cond - uncond)`.
pub fn combine_text_guidance(
    uncond: &Tensor,
    cond: &Tensor,
    g: f64,
) -> Result<Tensor, HiDreamError> {
    Ok((uncond + ((cond - uncond)? * g)?)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hidream::edit::variant::EditVariant;
    use candle_core::Device;

    fn t(values: &[f32]) -> Tensor {
        // [1, 2 channels, 1, n]
        let n = values.len() / 2;
        Tensor::from_slice(values, (1, 2, 1, n), &Device::Cpu).unwrap()
    }

    // Worked by hand: at the single position, full = (3, 4) (norm 5), image = (0, 0),
    // g = 3 -> pred_text = (9, 12) (norm 15), clipped by 5/15 to (3, 4); uncond = (1, 1),
    // ig = 1.5 -> 1 + 1.5 * (3 - 1) = 4, 1 + 1.5 * (4 - 1) = 5.5.
    #[test]
    fn clip_cfg_norm_rescales_to_the_full_condition() {
        let mut settings = EditVariant::E1_1.defaults();
        settings.guidance_scale = 3.0;
        settings.image_guidance_scale = 1.5;
        let out =
            combine_image_guidance(&t(&[1.0, 1.0]), &t(&[0.0, 0.0]), &t(&[3.0, 4.0]), &settings)
                .unwrap();
        let got = out.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert!(
            (got[0] - 4.0).abs() < 1e-5 && (got[1] - 5.5).abs() < 1e-5,
            "{got:?}"
        );
    }

    // A prediction already smaller than the full condition is left alone (scale capped at 1):
    // full = (3, 4), image = (3, 4) -> pred_text = full; uncond = 0 -> ig * full.
    #[test]
    fn clipping_never_amplifies() {
        let settings = EditVariant::E1_1.defaults();
        let out =
            combine_image_guidance(&t(&[0.0, 0.0]), &t(&[3.0, 4.0]), &t(&[3.0, 4.0]), &settings)
                .unwrap();
        let got = out.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let ig = settings.image_guidance_scale as f32;
        assert!(
            (got[0] - 3.0 * ig).abs() < 1e-5 && (got[1] - 4.0 * ig).abs() < 1e-5,
            "{got:?}"
        );
    }

    // Without clipping: uncond 1, image 2, full 4, ig 4, g 5 -> 1 + 4 * 1 + 5 * 2 = 15.
    #[test]
    fn plain_three_way_guidance() {
        let mut settings = EditVariant::E1Full.defaults();
        settings.clip_cfg_norm = false;
        let out =
            combine_image_guidance(&t(&[1.0, 1.0]), &t(&[2.0, 2.0]), &t(&[4.0, 4.0]), &settings)
                .unwrap();
        let got = out.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert_eq!(got, vec![15.0, 15.0]);
    }
}
