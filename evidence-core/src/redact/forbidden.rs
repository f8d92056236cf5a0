//! Caller-supplied forbidden tokens: every token as given and base64-encoded (standard and
//! URL-safe alphabets, at each of the three byte alignments a token can have inside a longer
//! encoded string), searched for all at once.
//!
//! Base64 encodes 3 bytes as 4 characters. A token that starts at byte offset `k` (mod 3) of
//! some longer data shows up in its encoding as a fixed character string, except for the
//! characters that mix the token's first or last bits with neighbouring bytes. For each `k` in
//! 0, 1, 2 the needle is `encode(k zero bytes + token)` without its first `[0, 2, 3][k]`
//! characters (those depend on the unknown preceding bytes) and, when `(k + len) % 3 != 0`,
//! without its last character (it depends on the unknown following bytes). A match is then
//! widened by one base64 character on each side that carries some bits of the token.
//!
//! Search: every needle is at least [`KEY`] bytes long; needles are indexed by their first
//! [`KEY`] bytes, and the text is scanned once with a rolling [`KEY`]-byte window, checking a
//! small bit filter before the index. Work is linear in the text plus the candidates verified.

use std::collections::HashMap;

use base64::Engine as _;
use zeroize::Zeroize as _;

use super::{Hit, SecretClass};

/// Bytes every needle is indexed by (the shortest needle is the shortest token).
const KEY: usize = super::MIN_TOKEN_BYTES;
const KEY_MASK: u64 = (1u64 << (8 * KEY)) - 1;
const FILTER_BITS: usize = 1 << 16;

struct Needle {
    bytes: Vec<u8>,
    /// Base64 characters to widen the match by, on the left and on the right.
    widen_left: u8,
    widen_right: u8,
}

/// The compiled set of forbidden tokens. Zeroes its copies of the tokens when dropped.
#[derive(Default)]
pub(super) struct Needles {
    needles: Vec<Needle>,
    index: HashMap<u64, Vec<u32>>,
    filter: Vec<u64>,
}

impl Drop for Needles {
    fn drop(&mut self) {
        for n in &mut self.needles {
            n.bytes.zeroize();
        }
        self.filter.zeroize();
    }
}

fn key_of(bytes: &[u8]) -> Option<u64> {
    let k = bytes.get(..KEY)?;
    Some(k.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
}

/// Filter slot of a key: its last two bytes (cheap to take at every position).
fn filter_slot(key: u64) -> usize {
    (key & 0xFFFF) as usize % FILTER_BITS
}

fn is_b64_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_')
}

impl Needles {
    pub(super) fn new<'a>(tokens: impl Iterator<Item = &'a [u8]>) -> Self {
        let mut set = Needles::default();
        let mut seen: std::collections::HashSet<Vec<u8>> = std::collections::HashSet::new();
        let mut add = |set: &mut Needles, bytes: Vec<u8>, widen_left: u8, widen_right: u8| {
            if bytes.len() < KEY || !seen.insert(bytes.clone()) {
                return;
            }
            set.needles.push(Needle {
                bytes,
                widen_left,
                widen_right,
            });
        };
        for token in tokens {
            add(&mut set, token.to_vec(), 0, 0);
            for k in 0..3usize {
                let mut data = vec![0u8; k];
                data.extend_from_slice(token);
                let total = data.len();
                for engine in [
                    &base64::engine::general_purpose::STANDARD_NO_PAD,
                    &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                ] {
                    let mut enc = engine.encode(&data).into_bytes();
                    let drop_front = [0usize, 2, 3].get(k).copied().unwrap_or(0);
                    let partial_tail = total % 3 != 0;
                    let end = enc.len().saturating_sub(usize::from(partial_tail));
                    let needle = enc.get(drop_front..end).unwrap_or_default().to_vec();
                    enc.zeroize();
                    add(&mut set, needle, u8::from(k > 0), u8::from(partial_tail));
                }
                data.zeroize();
            }
        }
        for mut copy in seen.drain() {
            copy.zeroize();
        }
        set.filter = vec![0u64; FILTER_BITS / 64];
        for (id, needle) in set.needles.iter().enumerate() {
            let Some(key) = key_of(&needle.bytes) else {
                continue;
            };
            let slot = filter_slot(key);
            if let Some(word) = set.filter.get_mut(slot / 64) {
                *word |= 1u64 << (slot % 64);
            }
            set.index.entry(key).or_default().push(id as u32);
        }
        set
    }

    /// Appends a hit for every occurrence of every needle in `text`.
    pub(super) fn find(&self, text: &[u8], out: &mut Vec<Hit>) {
        if self.needles.is_empty() || text.len() < KEY {
            return;
        }
        let mut key = 0u64;
        for (i, &b) in text.iter().enumerate() {
            key = ((key << 8) | u64::from(b)) & KEY_MASK;
            if i + 1 < KEY {
                continue;
            }
            let slot = filter_slot(key);
            let set = self
                .filter
                .get(slot / 64)
                .is_some_and(|w| w & (1u64 << (slot % 64)) != 0);
            if !set {
                continue;
            }
            let Some(ids) = self.index.get(&key) else {
                continue;
            };
            let start = i + 1 - KEY;
            for id in ids {
                let Some(n) = self.needles.get(*id as usize) else {
                    continue;
                };
                let end = start + n.bytes.len();
                if text.get(start..end) != Some(n.bytes.as_slice()) {
                    continue;
                }
                let mut s = start;
                if n.widen_left > 0 && s > 0 && text.get(s - 1).copied().is_some_and(is_b64_char) {
                    s -= 1;
                }
                let mut e = end;
                if n.widen_right > 0 && text.get(e).copied().is_some_and(is_b64_char) {
                    e += 1;
                }
                out.push(Hit {
                    start: s,
                    end: e,
                    class: SecretClass::ForbiddenToken,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hits(tokens: &[&str], text: &[u8]) -> Vec<(usize, usize)> {
        let set = Needles::new(tokens.iter().map(|t| t.as_bytes()));
        let mut out = Vec::new();
        set.find(text, &mut out);
        out.iter().map(|h| (h.start, h.end)).collect()
    }

    #[test]
    fn finds_raw_and_every_base64_alignment() {
        let token = "s3cr3t-Tok/en+?";
        for prefix_len in 0..6 {
            for suffix_len in 0..4 {
                let mut data = vec![b'x'; prefix_len];
                data.extend_from_slice(token.as_bytes());
                data.extend(std::iter::repeat_n(b'y', suffix_len));
                for engine in [
                    &base64::engine::general_purpose::STANDARD,
                    &base64::engine::general_purpose::URL_SAFE,
                    &base64::engine::general_purpose::STANDARD_NO_PAD,
                ] {
                    let enc = engine.encode(&data);
                    let text = format!("blob={enc};");
                    assert!(
                        !hits(&[token], text.as_bytes()).is_empty(),
                        "prefix {prefix_len} suffix {suffix_len}: {text}"
                    );
                }
            }
        }
        assert_eq!(
            hits(&[token], format!("a {token} b").as_bytes()),
            vec![(2, 17)]
        );
    }

    #[test]
    fn no_hit_without_the_token() {
        let enc =
            base64::engine::general_purpose::STANDARD.encode(b"ordinary data here, nothing else");
        assert!(hits(&["s3cr3t-Token"], enc.as_bytes()).is_empty());
        assert!(hits(&["s3cr3t-Token"], b"s3cr3t-Toke").is_empty());
        assert!(hits(&[], b"anything at all").is_empty());
    }
}
