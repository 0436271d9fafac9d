//! The seeded generator behind every random input, and its alphabets.

use std::time::{SystemTime, UNIX_EPOCH};

/// xorshift64*: reproducible from the seed printed on failure, and no dependency.
pub(crate) struct Rng(u64);

pub(crate) const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
pub(crate) const LOWER_DIGITS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
/// Characters of a path segment, `%` included so that percent-escapes appear (valid or not).
pub(crate) const PATH_CHARS: &[u8] =
    b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~%";
/// Characters of a method: the HTTP token characters actix-web's parser accepts (it answers
/// 400 itself, before any middleware, to `#`, `$`, `&` and `'`).
pub(crate) const METHOD_CHARS: &[u8] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!*+-.^_|~";

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed | 1)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub(crate) fn between(&mut self, low: usize, high: usize) -> usize {
        low + self.below(high - low + 1)
    }

    /// `len` characters of `alphabet`, eight from each draw (the floods need megabytes).
    pub(crate) fn text(&mut self, len: usize, alphabet: &[u8]) -> String {
        let mut text = String::with_capacity(len);
        let mut bits = 0;
        for i in 0..len {
            if i % 8 == 0 {
                bits = self.next();
            }
            text.push(char::from(
                alphabet[(bits & 0xff) as usize % alphabet.len()],
            ));
            bits >>= 8;
        }
        text
    }

    /// Between `low` and `high` characters of `alphabet`.
    pub(crate) fn word(&mut self, low: usize, high: usize, alphabet: &[u8]) -> String {
        let len = self.between(low, high);
        self.text(len, alphabet)
    }

    pub(crate) fn hex(&mut self, digits: usize) -> String {
        self.text(digits, b"0123456789abcdef")
    }
}

pub(crate) fn seed() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    nanos ^ u64::from(std::process::id()).rotate_left(32)
}
