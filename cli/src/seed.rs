//! `--seed`: a number, or -1 (also `random`) for a fresh one, as A1111 and
//! stable-diffusion.cpp take it. The seed actually used is what the PNG and the JSON
//! summary record, so a random run can be repeated.

use std::hash::{BuildHasher, Hasher};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeedArg {
    Fixed(u64),
    Random,
}

impl std::str::FromStr for SeedArg {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text.trim() {
            "-1" | "random" => Ok(Self::Random),
            number => number.parse::<u64>().map(Self::Fixed).map_err(|_| {
                format!(
                    "{text:?} is not a seed: give a whole number from 0 to {}, or -1 (random)",
                    u64::MAX
                )
            }),
        }
    }
}

impl SeedArg {
    /// The seed to use: a random one below 2^32, the range A1111 draws from.
    pub fn resolve(self) -> u64 {
        match self {
            Self::Fixed(seed) => seed,
            Self::Random => {
                // std's per-process random hasher keys are drawn from the OS.
                let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos());
                hasher.write_u128(now);
                hasher.finish() & 0xFFFF_FFFF
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_minus_one_parse_and_anything_else_is_named() {
        assert_eq!("42".parse(), Ok(SeedArg::Fixed(42)));
        assert_eq!("-1".parse(), Ok(SeedArg::Random));
        assert_eq!("random".parse(), Ok(SeedArg::Random));
        for bad in ["-2", "种子", "1.5", ""] {
            let err = bad.parse::<SeedArg>().unwrap_err();
            assert!(
                err.contains(&format!("{bad:?}")) && err.contains("-1"),
                "{err}"
            );
        }
    }

    #[test]
    fn a_random_seed_is_below_two_to_the_32_and_changes() {
        let seeds: Vec<u64> = (0..8).map(|_| SeedArg::Random.resolve()).collect();
        assert!(seeds.iter().all(|s| *s <= 0xFFFF_FFFF));
        assert!(seeds.windows(2).any(|w| w[0] != w[1]), "{seeds:?}");
        assert_eq!(SeedArg::Fixed(7).resolve(), 7);
    }
}
