//! Input images read as diffusers' `load_image` (+ `VaeImageProcessor.preprocess` for
//! img2img) reads them; every expected pixel comes from PIL via
//! scripts/fixtures/input_images_reference.py.

use pipelines::image_input::load_rgb;
use std::path::{Path, PathBuf};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/input-images")
}

fn reference_json() -> serde_json::Value {
    let text = std::fs::read_to_string(dir().join("reference.json")).expect("reference.json");
    serde_json::from_str(&text).expect("json")
}

/// PIL's `load_image` pixels for `name` and their size.
fn reference(name: &str) -> (usize, usize, Vec<u8>) {
    let meta = &reference_json()["images"][name];
    let size = |k: &str| meta[k].as_u64().expect("size") as usize;
    let pixels = std::fs::read(dir().join(format!("{name}.rgb"))).expect("pixels");
    (size("width"), size("height"), pixels)
}

/// The largest and mean difference of a sample from PIL's, after checking the size.
fn difference(name: &str, path: &Path) -> (u8, f64, Vec<String>) {
    let loaded = load_rgb(path).unwrap_or_else(|e| panic!("{name}: {e}"));
    let (width, height, pixels) = reference(name);
    assert_eq!(
        (loaded.image.width, loaded.image.height),
        (width, height),
        "{name}"
    );
    assert_eq!(loaded.image.pixels.len(), pixels.len(), "{name}");
    let diffs: Vec<u8> = (loaded.image.pixels.iter().zip(&pixels))
        .map(|(a, b)| a.abs_diff(*b))
        .collect();
    let max = diffs.iter().copied().max().expect("pixels");
    let mean = diffs.iter().map(|&d| f64::from(d)).sum::<f64>() / diffs.len() as f64;
    (max, mean, loaded.notes)
}

#[test]
fn lossless_files_decode_exactly_as_pil_converts_them() {
    for (name, note) in [
        ("odd.png", None),
        ("palette.png", None),
        ("lossless.webp", None),
        (
            "rgba.png",
            Some("converted RGBA to RGB as PIL's convert(\"RGB\") does"),
        ),
        (
            "grey.png",
            Some("converted L (greyscale) to RGB as PIL's convert(\"RGB\") does"),
        ),
        (
            "grey16.png",
            Some("converted I;16 (16-bit greyscale, clipped at 255) to RGB"),
        ),
        ("rgb16.png", Some("converted 16-bit RGB (high bytes kept")),
    ] {
        let (diff, _, notes) = difference(name, &dir().join(name));
        assert_eq!(diff, 0, "{name} differs from PIL by up to {diff}");
        match note {
            None => assert!(notes.is_empty(), "{name}: {notes:?}"),
            Some(note) => assert!(
                notes.len() == 1 && notes[0].starts_with(note),
                "{name}: {notes:?}"
            ),
        }
    }
}

/// zune-jpeg (the image crate's decoder) against Pillow 13's libjpeg-turbo, measured on the
/// two 4:2:0 fixtures: at most 4 (photo.jpg) and 5 (exif6.jpg) per sample, mean 0.37 and 0.42.
/// The decoders' IDCT and chroma upsampling round differently; see docs/reliability.md.
const JPEG_MAX_DIFFERENCE: u8 = 5;
const JPEG_MEAN_DIFFERENCE: f64 = 0.5;

#[test]
fn jpeg_decodes_within_the_measured_decoder_difference() {
    for name in ["photo.jpg", "exif6.jpg"] {
        let (max, mean, _) = difference(name, &dir().join(name));
        eprintln!("{name}: max {max}, mean {mean:.3}");
        assert!(
            max <= JPEG_MAX_DIFFERENCE,
            "{name} differs from PIL by {max}"
        );
        assert!(
            mean <= JPEG_MEAN_DIFFERENCE,
            "{name}: mean difference {mean}"
        );
    }
}

/// image-webp and libwebp decode this lossy file to the same bytes (measured: 0), so the
/// comparison is exact; a future decoder change would show here.
#[test]
fn lossy_webp_decodes_as_libwebp_does() {
    let (max, _, notes) = difference("lossy.webp", &dir().join("lossy.webp"));
    assert_eq!(max, 0);
    assert!(notes.is_empty(), "{notes:?}");
}

#[test]
fn exif_orientation_6_is_turned_upright_and_said() {
    // Stored 40x24; PIL's exif_transpose gives 24x40 (checked in difference()).
    let (max, _, notes) = difference("exif6.jpg", &dir().join("exif6.jpg"));
    assert!(max <= JPEG_MAX_DIFFERENCE);
    assert_eq!(
        notes,
        [
            "turned upright by its EXIF orientation 6 as diffusers' load_image does \
          (PIL's exif_transpose)"
        ]
    );
}

#[test]
fn init_images_are_resized_as_the_vae_image_processor_does() {
    let path = dir().join("odd.png");
    let loaded = pipelines::init_image::read_init_image(&path).expect("odd.png");
    assert!(loaded.notes.is_empty(), "{:?}", loaded.notes);
    // The processor the script ran is SD's: vae_scale_factor 8.
    let (tensor, note) =
        pipelines::init_image::preprocess(&path, loaded.image, 8, &candle_core::Device::Cpu)
            .expect("preprocess");
    let shape: Vec<usize> = reference_json()["odd.png.preprocess"]
        .as_array()
        .expect("shape")
        .iter()
        .map(|v| v.as_u64().expect("dim") as usize)
        .collect();
    assert_eq!(tensor.dims(), shape.as_slice());
    let bytes = std::fs::read(dir().join("odd.png.preprocess.f32")).expect("reference");
    let expected: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    // The pipeline scales to [-1, 1] as `2x - 1` in f32, as diffusers' `normalize` does.
    let ours: Vec<f32> = tensor
        .flatten_all()
        .and_then(|t| t.to_vec1::<f32>())
        .expect("values")
        .iter()
        .map(|x| 2.0 * x - 1.0)
        .collect();
    let differing = ours.iter().zip(&expected).filter(|(a, b)| a != b).count();
    assert_eq!(differing, 0, "of {}", expected.len());
    assert_eq!(
        note.as_deref(),
        Some(
            "resized 45x35 to 40x32 (down to multiples of 8, LANCZOS) as diffusers' \
             VaeImageProcessor does"
        )
    );
}

#[test]
fn init_images_under_the_vae_scale_a_side_are_refused() {
    assert_eq!(pipelines::init_image::vae_size(45, 35, 0), None);
    assert_eq!(pipelines::init_image::vae_size(45, 35, 2), Some((44, 34)));
    let tmp = tempfile::tempdir().expect("tmp");
    let path = tmp.path().join("细长.png");
    let file = std::fs::File::create(&path).expect("create");
    let mut encoder = png::Encoder::new(file, 7, 40);
    encoder.set_color(png::ColorType::Rgb);
    encoder
        .write_header()
        .and_then(|mut w| w.write_image_data(&[9; 7 * 40 * 3]))
        .expect("png");
    let image = pipelines::init_image::read_init_image(&path)
        .expect("7x40 reads")
        .image;
    let err = pipelines::init_image::preprocess(&path, image, 8, &candle_core::Device::Cpu)
        .unwrap_err()
        .to_string();
    assert!(err.contains("细长.png") && err.contains("7x40"), "{err}");
}

#[test]
fn chinese_file_names_and_disguised_or_unsupported_files() {
    let tmp = tempfile::tempdir().expect("tmp");
    let photo = tmp.path().join("照片.jpg");
    std::fs::copy(dir().join("exif6.jpg"), &photo).expect("copy");
    let loaded = load_rgb(&photo).expect("照片.jpg");
    assert_eq!((loaded.image.width, loaded.image.height), (24, 40));
    // The format comes from the content, not the name, as PIL's Image.open does.
    let renamed = tmp.path().join("其实是.png");
    std::fs::copy(dir().join("photo.jpg"), &renamed).expect("copy");
    assert_eq!(load_rgb(&renamed).expect("by content").image.width, 37);

    let gif = tmp.path().join("动画.gif");
    std::fs::write(&gif, b"GIF89a\x01\x00\x01\x00\x00\x00\x00;").expect("write");
    let err = load_rgb(&gif).unwrap_err();
    assert!(err.contains("PNG, JPEG or WebP"), "{err}");
    assert!(!pipelines::image_input::is_supported_image(&gif));
    assert!(pipelines::image_input::is_supported_image(&photo));

    let truncated = tmp.path().join("截断.jpg");
    let bytes = std::fs::read(dir().join("photo.jpg")).expect("read");
    std::fs::write(&truncated, &bytes[..bytes.len() / 3]).expect("write");
    assert!(load_rgb(&truncated).is_err());
}

/// A JPEG whose frame header claims 60000x60000 (a 10 GB picture) is refused from its header,
/// as the PNG one is in hostile_inputs.rs.
#[test]
fn a_jpeg_header_claiming_a_huge_picture_is_refused_before_decoding() {
    let mut bytes = std::fs::read(dir().join("photo.jpg")).expect("read");
    let sof = bytes
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .expect("a baseline frame header");
    // FF C0, length (2), precision (1), then height and width, big-endian.
    bytes[sof + 5..sof + 9].copy_from_slice(&[0xEA, 0x60, 0xEA, 0x60]);
    let tmp = tempfile::tempdir().expect("tmp");
    let path = tmp.path().join("巨大.jpg");
    std::fs::write(&path, &bytes).expect("write");
    let err = load_rgb(&path).unwrap_err();
    assert!(err.contains("more than 16384 pixels a side"), "{err}");
}
