//! Choosing the next token from logits: greedy (the default, and what the
//! conformance tests check), or sampled with temperature, top-k and top-p
//! the way Hugging Face's and llama.cpp's samplers define them, from a
//! seeded ChaCha8 stream so that a seeded run repeats exactly.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// How tokens are chosen.
#[derive(Clone, Debug, PartialEq)]
pub struct Sampling {
    /// Softmax temperature; 0 is greedy (argmax).
    pub temperature: f32,
    /// Keep only the `top_k` most likely tokens (0: all).
    pub top_k: usize,
    /// Keep the fewest most likely tokens whose probabilities sum to at
    /// least `top_p` (1: all).
    pub top_p: f32,
    /// Seed of the random stream.
    pub seed: u64,
}

impl Default for Sampling {
    fn default() -> Self {
        Self::greedy()
    }
}

impl Sampling {
    /// Argmax at every step.
    pub fn greedy() -> Self {
        Self {
            temperature: 0.0,
            top_k: 0,
            top_p: 1.0,
            seed: 0,
        }
    }

    /// Whether this is argmax.
    pub fn is_greedy(&self) -> bool {
        self.temperature <= 0.0 || self.top_k == 1
    }
}

/// A [`Sampling`] with its random stream.
pub struct Sampler {
    sampling: Sampling,
    random: ChaCha8Rng,
}

impl Sampler {
    /// A sampler whose stream starts at `sampling.seed`.
    pub fn new(sampling: &Sampling) -> Self {
        Self {
            random: ChaCha8Rng::seed_from_u64(sampling.seed),
            sampling: sampling.clone(),
        }
    }

    /// The next token for `logits`.
    pub fn choose(&mut self, logits: &[f32]) -> u32 {
        if self.sampling.is_greedy() {
            return argmax(logits);
        }
        let candidates = self.candidates(logits);
        let total: f32 = candidates.iter().map(|&(_, weight)| weight).sum();
        let mut target = self.random.random::<f32>() * total;
        for &(token, weight) in &candidates {
            if target < weight {
                return token;
            }
            target -= weight;
        }
        candidates.last().map_or(0, |&(token, _)| token)
    }

    /// The tokens left after top-k and top-p, most likely first, with
    /// their unnormalised probabilities at the temperature.
    fn candidates(&self, logits: &[f32]) -> Vec<(u32, f32)> {
        let mut order: Vec<u32> = (0..logits.len() as u32).collect();
        let by_logit = |a: &u32, b: &u32| logits[*b as usize].total_cmp(&logits[*a as usize]);
        let keep = match self.sampling.top_k {
            0 => order.len(),
            k => k.min(order.len()),
        };
        if keep < order.len() {
            order.select_nth_unstable_by(keep - 1, by_logit);
            order.truncate(keep);
        }
        order.sort_unstable_by(by_logit);
        let best = logits[order[0] as usize];
        let weights: Vec<f32> = order
            .iter()
            .map(|&token| ((logits[token as usize] - best) / self.sampling.temperature).exp())
            .collect();
        let total: f32 = weights.iter().sum();
        let mut kept = Vec::with_capacity(order.len());
        let mut mass = 0.0;
        for (&token, &weight) in order.iter().zip(&weights) {
            kept.push((token, weight));
            mass += weight / total;
            if mass >= self.sampling.top_p {
                break;
            }
        }
        kept
    }
}

/// The index of the largest logit: the last of equal ones, as the module's
/// own `generate` loop picks (so that both loops agree even on a model
/// whose logits tie, like the tests' tiny llama).
pub fn argmax(row: &[f32]) -> u32 {
    row.iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map_or(0, |(index, _)| index as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sampled(sampling: &Sampling, logits: &[f32], draws: usize) -> Vec<u32> {
        let mut sampler = Sampler::new(sampling);
        (0..draws).map(|_| sampler.choose(logits)).collect()
    }

    #[test]
    fn greedy_takes_the_last_largest_logit() {
        assert_eq!(argmax(&[0.5, 2.0, 2.0, -1.0]), 2);
        let logits = [0.1, 3.0, 0.2];
        assert_eq!(sampled(&Sampling::greedy(), &logits, 3), vec![1, 1, 1]);
    }

    #[test]
    fn a_seed_repeats_and_another_seed_differs() {
        let logits: Vec<f32> = (0..50).map(|i| (i % 7) as f32 * 0.3).collect();
        let sampling = Sampling {
            temperature: 1.0,
            seed: 7,
            ..Sampling::greedy()
        };
        let first = sampled(&sampling, &logits, 64);
        assert_eq!(first, sampled(&sampling, &logits, 64));
        let other = Sampling {
            seed: 8,
            ..sampling
        };
        assert_ne!(first, sampled(&other, &logits, 64));
    }

    #[test]
    fn top_k_and_top_p_keep_only_the_likeliest_tokens() {
        let logits = [0.0, 5.0, 4.9, 4.8, -3.0, 1.0];
        let top_k = Sampling {
            temperature: 1.0,
            top_k: 2,
            ..Sampling::greedy()
        };
        let drawn = sampled(&top_k, &logits, 200);
        assert!(drawn.iter().all(|&t| t == 1 || t == 2), "{drawn:?}");
        assert!(drawn.contains(&1) && drawn.contains(&2));
        // Tokens 1..=3 hold ~97% of the mass at temperature 1.
        let top_p = Sampling {
            temperature: 1.0,
            top_p: 0.9,
            ..Sampling::greedy()
        };
        let drawn = sampled(&top_p, &logits, 200);
        assert!(drawn.iter().all(|t| (1..=3).contains(t)), "{drawn:?}");
    }

    #[test]
    fn a_low_temperature_concentrates_on_the_best_token() {
        let logits = [1.0, 1.5, 0.5];
        let cold = Sampling {
            temperature: 0.01,
            seed: 3,
            ..Sampling::greedy()
        };
        assert!(sampled(&cold, &logits, 100).iter().all(|&t| t == 1));
    }
}
