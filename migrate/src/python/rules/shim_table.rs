//! The CUDA-only library names the helper module stands in for, with the parameters each
//! takes and which argument values it can carry over. Attention and optimizer rules look
//! names up here; what is not here has no portable replacement and is reported.

/// A library callable or class with a portable stand-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shim {
    FlashAttn,
    FlashVarlen,
    MemoryEfficient,
    LowerTriangularMask,
    BlockDiagonalMask,
    FusedAdam,
    FusedLamb,
    /// One of bitsandbytes' Adam / AdamW classes (its name).
    BnbAdam(&'static str),
}

/// bitsandbytes' Adam family: all run one update (`"adam"`), with decoupled weight decay.
const BNB_ADAM: &[&str] = &[
    "Adam",
    "Adam8bit",
    "Adam32bit",
    "PagedAdam",
    "PagedAdam8bit",
    "PagedAdam32bit",
    "AdamW",
    "AdamW8bit",
    "AdamW32bit",
    "PagedAdamW",
    "PagedAdamW8bit",
    "PagedAdamW32bit",
];

/// An argument whose value must be one of some literals for the stand-in to compute the
/// same thing (`alibi_slopes` must be None).
pub struct Restriction {
    pub name: &'static str,
    /// Source spellings accepted.
    pub allowed: &'static [&'static str],
    /// A value that is not a literal (`op=self.attention_op`) is left to the stand-in,
    /// which refuses anything but the allowed values at run time.
    pub checked_at_run_time: bool,
}

const NONE: &[&str] = &["None"];
const FALSE: &[&str] = &["False"];
const TRUE: &[&str] = &["True"];

impl Shim {
    pub fn of(qualified: &str) -> Option<Shim> {
        let shim = match qualified {
            "flash_attn.flash_attn_func" | "flash_attn.flash_attn_interface.flash_attn_func" => {
                Shim::FlashAttn
            }
            "flash_attn.flash_attn_varlen_func"
            | "flash_attn.flash_attn_interface.flash_attn_varlen_func" => Shim::FlashVarlen,
            "xformers.ops.memory_efficient_attention"
            | "xformers.ops.fmha.memory_efficient_attention" => Shim::MemoryEfficient,
            "xformers.ops.LowerTriangularMask"
            | "xformers.ops.fmha.LowerTriangularMask"
            | "xformers.ops.fmha.attn_bias.LowerTriangularMask" => Shim::LowerTriangularMask,
            "xformers.ops.BlockDiagonalMask"
            | "xformers.ops.fmha.BlockDiagonalMask"
            | "xformers.ops.fmha.attn_bias.BlockDiagonalMask" => Shim::BlockDiagonalMask,
            "apex.optimizers.FusedAdam" | "apex.optimizers.fused_adam.FusedAdam" => Shim::FusedAdam,
            "apex.optimizers.FusedLAMB" | "apex.optimizers.fused_lamb.FusedLAMB" => Shim::FusedLamb,
            _ => {
                // bitsandbytes.optim.X, and the module paths releases also expose it under.
                let name = [
                    "bitsandbytes.optim.",
                    "bitsandbytes.optim.adam.",
                    "bitsandbytes.optim.adamw.",
                    "bitsandbytes.adam.",
                ]
                .iter()
                .find_map(|prefix| qualified.strip_prefix(prefix))?;
                return BNB_ADAM
                    .iter()
                    .find(|n| **n == name)
                    .map(|n| Shim::BnbAdam(n));
            }
        };
        Some(shim)
    }

    /// The stand-in's name in the helper module.
    pub fn helper_name(self) -> String {
        match self {
            Shim::FlashAttn => "flash_attn_func".into(),
            Shim::FlashVarlen => "flash_attn_varlen_func".into(),
            Shim::MemoryEfficient => "memory_efficient_attention".into(),
            Shim::LowerTriangularMask => "LowerTriangularMask".into(),
            Shim::BlockDiagonalMask => "BlockDiagonalMask".into(),
            Shim::FusedAdam => "FusedAdam".into(),
            Shim::FusedLamb => "FusedLAMB".into(),
            Shim::BnbAdam(name) => format!("bnb_optim.{name}"),
        }
    }

    /// The original's name, for messages.
    pub fn library_name(self) -> String {
        match self {
            Shim::FlashAttn => "flash_attn_func".into(),
            Shim::FlashVarlen => "flash_attn_varlen_func".into(),
            Shim::MemoryEfficient => "xformers.ops.memory_efficient_attention".into(),
            Shim::LowerTriangularMask => "xformers LowerTriangularMask".into(),
            Shim::BlockDiagonalMask => "xformers BlockDiagonalMask".into(),
            Shim::FusedAdam => "apex FusedAdam".into(),
            Shim::FusedLamb => "apex FusedLAMB".into(),
            Shim::BnbAdam(name) => format!("bitsandbytes.optim.{name}"),
        }
    }

    pub fn is_optimizer(self) -> bool {
        matches!(self, Shim::FusedAdam | Shim::FusedLamb | Shim::BnbAdam(_))
    }

    /// Parameters in positional order, as the original declares them (the stand-in takes
    /// the same); for bitsandbytes only the first five, which every release orders alike.
    pub fn positional(self) -> &'static [&'static str] {
        match self {
            Shim::FlashAttn => &[
                "q",
                "k",
                "v",
                "dropout_p",
                "softmax_scale",
                "causal",
                "window_size",
                "softcap",
                "alibi_slopes",
                "deterministic",
                "return_attn_probs",
            ],
            Shim::FlashVarlen => &[
                "q",
                "k",
                "v",
                "cu_seqlens_q",
                "cu_seqlens_k",
                "max_seqlen_q",
                "max_seqlen_k",
                "dropout_p",
                "softmax_scale",
                "causal",
                "window_size",
                "softcap",
                "alibi_slopes",
                "deterministic",
                "return_attn_probs",
                "block_table",
            ],
            Shim::MemoryEfficient => &["query", "key", "value", "attn_bias", "p", "scale"],
            Shim::LowerTriangularMask | Shim::BlockDiagonalMask => &[],
            Shim::FusedAdam => &[
                "params",
                "lr",
                "bias_correction",
                "betas",
                "eps",
                "adam_w_mode",
                "weight_decay",
                "amsgrad",
                "set_grad_none",
            ],
            Shim::FusedLamb => &[
                "params",
                "lr",
                "bias_correction",
                "betas",
                "eps",
                "weight_decay",
                "amsgrad",
                "adam_w_mode",
                "grad_averaging",
                "set_grad_none",
                "max_grad_norm",
                "use_nvlamb",
            ],
            Shim::BnbAdam(_) => &["params", "lr", "betas", "eps", "weight_decay"],
        }
    }

    /// Keyword-only parameters the stand-in accepts besides the positional ones.
    pub fn keyword_only(self) -> &'static [&'static str] {
        match self {
            Shim::MemoryEfficient => &["op", "output_dtype"],
            Shim::BnbAdam(_) => &[
                "amsgrad",
                "optim_bits",
                "min_8bit_size",
                "percentile_clipping",
                "block_wise",
                "is_paged",
                "args",
            ],
            _ => &[],
        }
    }

    /// Arguments the stand-in carries over only with these values.
    pub fn restrictions(self) -> &'static [Restriction] {
        const FLASH: &[Restriction] = &[
            Restriction {
                name: "softcap",
                allowed: &["0", "0.0"],
                checked_at_run_time: false,
            },
            Restriction {
                name: "alibi_slopes",
                allowed: NONE,
                checked_at_run_time: false,
            },
            Restriction {
                name: "return_attn_probs",
                allowed: FALSE,
                checked_at_run_time: false,
            },
            Restriction {
                name: "block_table",
                allowed: NONE,
                checked_at_run_time: false,
            },
        ];
        match self {
            Shim::FlashAttn | Shim::FlashVarlen => FLASH,
            Shim::MemoryEfficient => &[
                Restriction {
                    name: "op",
                    allowed: NONE,
                    checked_at_run_time: true,
                },
                Restriction {
                    name: "output_dtype",
                    allowed: NONE,
                    checked_at_run_time: true,
                },
            ],
            Shim::FusedAdam => &[
                Restriction {
                    name: "bias_correction",
                    allowed: TRUE,
                    checked_at_run_time: false,
                },
                Restriction {
                    name: "amsgrad",
                    allowed: FALSE,
                    checked_at_run_time: false,
                },
            ],
            Shim::FusedLamb => &[
                Restriction {
                    name: "bias_correction",
                    allowed: TRUE,
                    checked_at_run_time: false,
                },
                Restriction {
                    name: "amsgrad",
                    allowed: FALSE,
                    checked_at_run_time: false,
                },
                Restriction {
                    name: "adam_w_mode",
                    allowed: TRUE,
                    checked_at_run_time: false,
                },
            ],
            Shim::BnbAdam(_) => &[
                Restriction {
                    name: "amsgrad",
                    allowed: FALSE,
                    checked_at_run_time: false,
                },
                Restriction {
                    name: "percentile_clipping",
                    allowed: &["100"],
                    checked_at_run_time: false,
                },
                Restriction {
                    name: "args",
                    allowed: NONE,
                    checked_at_run_time: false,
                },
            ],
            Shim::LowerTriangularMask | Shim::BlockDiagonalMask => &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_of_a_supported_name_finds_its_stand_in() {
        assert_eq!(
            Shim::of("flash_attn.flash_attn_interface.flash_attn_varlen_func"),
            Some(Shim::FlashVarlen)
        );
        assert_eq!(
            Shim::of("bitsandbytes.optim.PagedAdamW8bit").map(Shim::helper_name),
            Some("bnb_optim.PagedAdamW8bit".to_string())
        );
        assert_eq!(Shim::of("bitsandbytes.optim.Lion8bit"), None);
        assert_eq!(Shim::of("flash_attn.flash_attn_qkvpacked_func"), None);
        assert_eq!(Shim::of("xformers.ops.fmha.cutlass.FwOp"), None);
    }
}
