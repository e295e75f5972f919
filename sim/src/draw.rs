//! Random draws of the simulator, on top of the seeded ChaCha8 stream only.
//!
//! The experiments' outputs are byte-identical for a file and a seed, and should stay so
//! across dependency upgrades: rand 0.9 changed how `gen_range` maps the stream to a range
//! (and 0.10 how slices are shuffled), which would change every latency, loss and swarm
//! schedule. These functions fix the mapping here, with the algorithms rand 0.8 used, so the
//! streams the shipped experiments and their recorded figures rest on do not move when
//! rand does. Only `next_u32` / `next_u64` of the generator are used.

use rand_chacha::rand_core::Rng;
use rand_chacha::ChaCha8Rng;

/// A uniform integer in `lo..=hi` from 64-bit words: widening multiply, rejecting the
/// words of the biased zone (rand 0.8's `sample_single_inclusive` for u64 and usize).
pub fn between(rng: &mut ChaCha8Rng, lo: u64, hi: u64) -> u64 {
    assert!(lo <= hi, "empty range {lo}..={hi}");
    let range = hi.wrapping_sub(lo).wrapping_add(1);
    if range == 0 {
        return rng.next_u64();
    }
    let zone = (range << range.leading_zeros()).wrapping_sub(1);
    loop {
        let m = u128::from(rng.next_u64()) * u128::from(range);
        if (m as u64) <= zone {
            return lo.wrapping_add((m >> 64) as u64);
        }
    }
}

/// A uniform integer in `0..n` (`n` > 0) from 64-bit words.
pub fn below(rng: &mut ChaCha8Rng, n: u64) -> u64 {
    assert!(n > 0, "empty range 0..0");
    between(rng, 0, n - 1)
}

/// A uniform index in `0..len` (`len` > 0) from 64-bit words (rand 0.8's `gen_range` of a
/// usize).
pub fn index(rng: &mut ChaCha8Rng, len: usize) -> usize {
    below(rng, len as u64) as usize
}

/// A uniform integer in `0..n` (`n` > 0) from 32-bit words (rand 0.8's `gen_range` of a
/// u32, and its slice index for `choose` and `shuffle`).
pub fn below_u32(rng: &mut ChaCha8Rng, n: u32) -> u32 {
    assert!(n > 0, "empty range 0..0");
    let range = n;
    let zone = (range << range.leading_zeros()).wrapping_sub(1);
    loop {
        let m = u64::from(rng.next_u32()) * u64::from(range);
        if (m as u32) <= zone {
            return (m >> 32) as u32;
        }
    }
}

/// A uniform byte in `lo..=hi` from 32-bit words, rejecting exactly the biased zone (rand
/// 0.8's `gen_range` of a u8).
pub fn byte_between(rng: &mut ChaCha8Rng, lo: u8, hi: u8) -> u8 {
    assert!(lo <= hi, "empty range {lo}..={hi}");
    let range = u32::from(hi - lo) + 1;
    if range == 256 {
        return rng.next_u32() as u8;
    }
    let zone = u32::MAX - (u32::MAX - range + 1) % range;
    loop {
        let m = u64::from(rng.next_u32()) * u64::from(range);
        if (m as u32) <= zone {
            return lo + (m >> 32) as u8;
        }
    }
}

/// A slice index as rand 0.8's `choose` and `shuffle` drew it: 32-bit words when `len`
/// fits in a u32.
fn slice_index(rng: &mut ChaCha8Rng, len: usize) -> usize {
    match u32::try_from(len) {
        Ok(n) => below_u32(rng, n) as usize,
        Err(_) => index(rng, len),
    }
}

/// One element of `items`, uniformly (`None` when empty).
pub fn choose<'a, T>(rng: &mut ChaCha8Rng, items: &'a [T]) -> Option<&'a T> {
    if items.is_empty() {
        None
    } else {
        Some(&items[slice_index(rng, items.len())])
    }
}

/// Shuffles `items` in place (Fisher-Yates from the end).
pub fn shuffle<T>(rng: &mut ChaCha8Rng, items: &mut [T]) {
    for i in (1..items.len()).rev() {
        let j = slice_index(rng, i + 1);
        items.swap(i, j);
    }
}

/// A uniform f64 in [0, 1): the top 53 bits of a word.
pub fn unit(rng: &mut ChaCha8Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// A uniform f64 in `lo..hi`: 52 bits as the fraction of a float in [1, 2), shifted and
/// scaled; a result rounded up to `hi` is drawn again with a scale one ulp smaller.
pub fn uniform(rng: &mut ChaCha8Rng, lo: f64, hi: f64) -> f64 {
    assert!(lo < hi, "empty range {lo}..{hi}");
    let mut scale = hi - lo;
    assert!(scale.is_finite(), "range {lo}..{hi} overflows");
    loop {
        let one_two = f64::from_bits((1023u64 << 52) | (rng.next_u64() >> 12));
        let res = (one_two - 1.0) * scale + lo;
        if res < hi {
            return res;
        }
        scale = f64::from_bits(scale.to_bits() - 1);
    }
}

/// True with probability `p` (0..=1): a word below `p` x 2^64; `p` = 1 draws nothing.
pub fn chance(rng: &mut ChaCha8Rng, p: f64) -> bool {
    assert!((0.0..=1.0).contains(&p), "probability {p} outside 0..=1");
    if p == 1.0 {
        return true;
    }
    let threshold = (p * 2f64.powi(64)) as u64;
    rng.next_u64() < threshold
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;

    fn rng() -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(7)
    }

    #[test]
    fn ranges_stay_inside_and_cover_their_values() {
        let mut r = rng();
        let mut seen = [false; 7];
        for _ in 0..2000 {
            let v = between(&mut r, 10, 16);
            assert!((10..=16).contains(&v));
            seen[(v - 10) as usize] = true;
            let u = below_u32(&mut r, 3);
            assert!(u < 3);
            let f = uniform(&mut r, -1.0, 2.0);
            assert!((-1.0..2.0).contains(&f));
            assert!((0.0..1.0).contains(&unit(&mut r)));
        }
        assert!(seen.iter().all(|s| *s));
        let _full_range = between(&mut r, 0, u64::MAX);
        assert!(!chance(&mut r, 0.0));
        assert!(chance(&mut r, 1.0));
    }

    /// The streams rand 0.8's `gen_range`, `gen`, `gen_bool`, `shuffle` and `choose` gave for
    /// seed 42 (recorded with rand 0.8.8 before it was dropped): these draws must keep them.
    #[test]
    fn draws_keep_rand_08_streams() {
        let mut r = ChaCha8Rng::seed_from_u64(42);
        let v: Vec<u64> = (0..6).map(|_| between(&mut r, 0, 999_999)).collect();
        assert_eq!(v, [681896, 950275, 427516, 627360, 288593, 149958]);
        let v: Vec<u32> = (0..6).map(|_| below_u32(&mut r, 7)).collect();
        assert_eq!(v, [2, 2, 1, 5, 4, 5]);
        let v: Vec<u8> = (0..6).map(|_| byte_between(&mut r, 1, 254)).collect();
        assert_eq!(v, [210, 61, 137, 129, 97, 230]);
        let v: Vec<u64> = (0..3).map(|_| unit(&mut r).to_bits()).collect();
        assert_eq!(
            v,
            [
                4606795021582252264,
                4603516295681979136,
                4604739652729742562
            ]
        );
        let v: Vec<u64> = (0..3)
            .map(|_| uniform(&mut r, -1.0, 2.0).to_bits())
            .collect();
        assert_eq!(
            v,
            [
                13825376951290090044,
                4604716062454270316,
                13825775472210607392
            ]
        );
        let v: Vec<bool> = (0..8).map(|_| chance(&mut r, 0.3)).collect();
        assert_eq!(v, [false, true, true, false, false, true, true, true]);
        let mut v: Vec<u32> = (0..10).collect();
        shuffle(&mut r, &mut v);
        assert_eq!(v, [1, 0, 5, 2, 7, 4, 9, 6, 3, 8]);
        assert_eq!(choose(&mut r, &[10u32, 20, 30, 40, 50]), Some(&20));
    }

    #[test]
    fn shuffle_is_a_permutation() {
        let mut v: Vec<u32> = (0..50).collect();
        shuffle(&mut rng(), &mut v);
        assert_ne!(v, (0..50).collect::<Vec<_>>());
        v.sort();
        assert_eq!(v, (0..50).collect::<Vec<_>>());
    }
}
