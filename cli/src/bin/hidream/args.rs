//! The `hidream` command line: subcommands, flags and the help that explains them.

use clap::{Args, Parser, Subcommand};
use cli::device_choice::DeviceFlag;
use cli::values;
use pipelines::hidream::edit::EditVariant;
use pipelines::hidream::generate::Variant as GenerateVariant;
use std::path::PathBuf;

const ABOUT: &str = "HiDream-I1 text-to-image and HiDream-E1 instruction editing on candle";

const AFTER_HELP: &str = "\
HiDream needs Llama-3.1-8B-Instruct, which is not part of the HiDream model folders:
download it separately (Hugging Face meta-llama/Llama-3.1-8B-Instruct, a gated model:
accept its licence first) and pass its folder with --llama DIR.

--model, --llama and --refine-model take a folder or a Hugging Face id already in the local
cache (HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub; `hf download ORG/NAME`
puts it there); nothing is downloaded. The snapshot used is named on stderr.

Sizes follow diffusers' HiDreamImagePipeline: the requested --width x --height is rescaled
to the model's area (1024 x 1024 for HiDream-I1) keeping the aspect ratio, and each side is
floored to a multiple of 16. 1024x1024, 768x1360 and 1360x768 are kept as asked; 512x512
becomes 1024x1024. The size actually used is printed before anything is loaded.

The text encoders (CLIP-L, CLIP-G, T5-XXL, Llama-3.1-8B; about 14 GB in bf16 without the
Llama's 16 GB) are loaded one at a time and dropped after encoding, before the transformer.

Exit status: 0 done; 2 bad input (a flag, a missing or incomplete folder, a missing file,
a weight file that is not valid safetensors or does not fit the config; all checked before
any model loads); 1 a failure while running (a step whose latents became NaN or infinite
included); 130 or 143 interrupted by SIGINT or SIGTERM.
No output file is left behind on failure or interrupt: outputs are written to a temporary
file and renamed into place.

Examples:
  hidream generate --model ./HiDream-I1-Dev --variant dev --llama ./Llama-3.1-8B-Instruct \\
      --prompt \"a cat holding a sign that says hello\" --seed 42 --output cat.png
  hidream edit --model ./HiDream-E1-1 --variant e1.1 --llama ./Llama-3.1-8B-Instruct \\
      --image in.png --instruction \"make the sky purple\" --output out.png
  hidream encode --model ./HiDream-I1-Full --llama ./Llama-3.1-8B-Instruct \\
      --prompt \"a red bird\" --output embeds.safetensors";

#[derive(Parser, Debug)]
#[command(name = "hidream", version, about = ABOUT, after_help = AFTER_HELP)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Text-to-image with HiDream-I1 (Full, Dev or Fast).
    #[command(after_help = GENERATE_HELP)]
    Generate(GenerateArgs),
    /// Instruction editing with HiDream-E1 (E1-Full or E1.1).
    #[command(after_help = EDIT_HELP)]
    Edit(EditArgs),
    /// Encode prompts with the four text encoders and write the embeddings (the
    /// transformer's text conditioning) to a safetensors file.
    Encode(EncodeArgs),
}

const GENERATE_HELP: &str = "\
Variant defaults (HiDream-I1's own inference settings; --steps, --guidance and --shift
override them):
  full  flow UniPC,            50 steps, guidance 5.0, shift 3.0
  dev   flash flow-match Euler, 28 steps, guidance 0.0, shift 6.0
  fast  flash flow-match Euler, 16 steps, guidance 0.0, shift 3.0
Guidance above 1 encodes --negative-prompt (default empty) too and runs classifier-free
guidance. The variant must match the --model folder (HiDream-I1-Full, -Dev or -Fast).

Size: --width/--height are rescaled to the model's 1024x1024 area and floored to multiples
of 16; the actual size is printed. HiDream needs Llama-3.1-8B-Instruct, downloaded
separately, passed with --llama.";

const EDIT_HELP: &str = "\
Variant defaults (HiDream-E1's own scripts; --steps, --guidance, --image-guidance and
--refine-strength override them):
  e1-full  HiDream-E1-Full: a rank-16 LoRA (--lora FILE) on HiDream-I1-Full (--model), the
           source resized to 768x768, 28 steps, guidance 5.0, image guidance 4.0,
           negative \"low resolution, blur\", refine strength 0.3
  e1.1     HiDream-E1.1 (--model), fully fine-tuned, the source resized to about 1
           megapixel at its aspect ratio (sides multiples of 16), 28 steps, guidance 3.0,
           image guidance 1.5, negative \"low quality, blurry, distorted\", refine 0.3
The prompt given to the model is \"Editing Instruction: <instruction>. Target Image
Description: <description>\" (the description defaults to the instruction); the last
--refine-strength of the steps are a refine stage guided by the description alone, on
--refine-model's transformer when given. The source is a PNG, JPEG or WebP, read as
diffusers' load_image reads it (EXIF-upright, converted to RGB, said on stderr). HiDream needs
Llama-3.1-8B-Instruct, downloaded separately, passed with --llama.";

/// Where the models are and where they run.
#[derive(Args, Debug, Clone)]
pub struct ModelArgs {
    /// A HiDream model folder in diffusers layout (tokenizer*, text_encoder*, transformer,
    /// vae, scheduler), or its Hugging Face id (e.g. HiDream-ai/HiDream-I1-Dev) already in
    /// the local hub cache (never downloaded).
    #[arg(short = 'm')]
    #[arg(long, value_name = "DIR|ORG/NAME")]
    pub model: PathBuf,
    /// With an id as --model: the branch, tag or commit hash in the cache (default main).
    /// --llama and --refine-model ids always use main.
    #[arg(long, value_name = "REV")]
    pub revision: Option<String>,
    /// The Llama-3.1-8B-Instruct folder (config.json, tokenizer.json, tokenizer_config.json,
    /// *.safetensors), or meta-llama/Llama-3.1-8B-Instruct from the hub cache. Not shipped
    /// with HiDream: download it separately.
    #[arg(long, value_name = "DIR|ORG/NAME")]
    pub llama: PathBuf,
    /// What each model flag resolved to (for --json); filled in before the run.
    #[arg(skip)]
    pub sources: Vec<(String, pipelines::model_source::ResolvedModel)>,
    /// Weights and compute dtype of every model (text encoders, transformer, VAE).
    /// Latents and scheduler arithmetic stay f32. HiDream is published in bf16; f32
    /// doubles the memory (the transformer alone is 68 GB at f32).
    /// [default: bf16, or PREFERRED_DTYPE]
    #[arg(long, value_parser = values::device_dtype())]
    pub dtype: Option<device::DType>,
    /// auto (NPU, then CUDA, then CPU, or what PREFERRED_DEVICE names), cpu, cuda[:N] or
    /// npu[:N].
    #[arg(long, default_value = "auto", value_name = "DEVICE")]
    pub device: DeviceFlag,
    /// Print a JSON summary on stdout instead of the plain report.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct GenerateArgs {
    #[command(flatten)]
    pub models: ModelArgs,
    #[arg(short = 'p', long)]
    pub prompt: String,
    /// Used when guidance is above 1; defaults to the empty prompt, as diffusers does.
    #[arg(short = 'n', long, visible_alias = "negative")]
    pub negative_prompt: Option<String>,
    #[arg(long, default_value = "full", value_parser = values::generate_variant())]
    pub variant: GenerateVariant,
    /// Denoising steps (variant default).
    #[arg(long)]
    pub steps: Option<usize>,
    /// Classifier-free guidance scale; 1 or less disables it (variant default).
    #[arg(short = 'g', long, visible_aliases = ["cfg-scale", "guidance-scale"])]
    pub guidance: Option<f64>,
    /// The flow scheduler's timestep shift (variant default).
    #[arg(long)]
    pub shift: Option<f64>,
    #[arg(short = 's', long, default_value_t = 0)]
    pub seed: u64,
    /// Requested width; rescaled to the model's area and floored to a multiple of 16.
    #[arg(short = 'W', long, default_value_t = 1024)]
    pub width: usize,
    /// Requested height; rescaled like --width.
    #[arg(short = 'H', long, default_value_t = 1024)]
    pub height: usize,
    /// Stream transformer blocks to the device one at a time (less device memory, slower).
    #[arg(long)]
    pub offload: bool,
    /// Starting latents (safetensors, tensor "latents") instead of noise from --seed.
    #[arg(long, value_name = "FILE")]
    pub latents: Option<PathBuf>,
    /// Also write the final latents (tensor "latents").
    #[arg(long, value_name = "FILE")]
    pub save_latents: Option<PathBuf>,
    #[arg(short = 'o', long, default_value = "hidream.png")]
    pub output: PathBuf,
    /// Check the flags and folders, print the settings the run would use, load nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Args, Debug)]
pub struct EditArgs {
    #[command(flatten)]
    pub models: ModelArgs,
    /// The image to edit (PNG, JPEG or WebP).
    #[arg(long, value_name = "IMAGE")]
    pub image: PathBuf,
    /// What to change, e.g. "make the sky purple".
    #[arg(long)]
    pub instruction: String,
    /// What the edited image should show; defaults to the instruction.
    #[arg(long)]
    pub description: Option<String>,
    #[arg(long, default_value = "e1.1", value_parser = values::edit_variant())]
    pub variant: EditVariant,
    /// E1-Full's LoRA weights (safetensors), merged into the --model transformer.
    #[arg(long, value_name = "FILE")]
    pub lora: Option<PathBuf>,
    /// A HiDream-I1-Full folder (or its id in the hub cache) whose transformer runs the refine
    /// stage (default: E1-Full's own refine weights, or the E1.1 model itself).
    #[arg(long, value_name = "DIR|ORG/NAME")]
    pub refine_model: Option<PathBuf>,
    /// Fraction of the steps, at the end, run as the refine stage, in [0, 1]; 0 turns it
    /// off (default 0.3).
    #[arg(long)]
    pub refine_strength: Option<f64>,
    /// Text guidance (variant default).
    #[arg(short = 'g', long, visible_aliases = ["cfg-scale", "guidance-scale"])]
    pub guidance: Option<f64>,
    /// Image guidance (variant default).
    #[arg(long)]
    pub image_guidance: Option<f64>,
    /// Denoising steps (variant default).
    #[arg(long)]
    pub steps: Option<usize>,
    #[arg(short = 's', long, default_value_t = 0)]
    pub seed: u64,
    #[arg(short = 'o', long, default_value = "hidream-edit.png")]
    pub output: PathBuf,
    /// Check the flags and folders, print the settings the run would use, load nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Args, Debug)]
pub struct EncodeArgs {
    #[command(flatten)]
    pub models: ModelArgs,
    #[arg(short = 'p', long)]
    pub prompt: String,
    /// Defaults to the empty prompt, as diffusers does.
    #[arg(short = 'n', long, visible_alias = "negative")]
    pub negative_prompt: Option<String>,
    /// Skip the negative prompt (a run without classifier-free guidance needs none).
    #[arg(long)]
    pub no_negative: bool,
    /// safetensors with t5 [b, tokens, c], llama [layers, b, tokens, c], pooled [b, c] and,
    /// unless --no-negative, negative.t5 / negative.llama / negative.pooled.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: PathBuf,
}
