//! Helpers shared by the fuzz targets (not part of the toolkit).

use std::io::{self, Read};

use serde_json::Value;

/// True if two JSON values are the same document: numbers compare by value (`1`, `1.0` and
/// `1e0` are one number to RFC 8785), everything else structurally.
pub fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) => x == y,
            _ => x == y,
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_json(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
        }
        _ => a == b,
    }
}

/// A reader that hands out its bytes in small pieces of varying size, so that code reading a
/// stream sees every kind of boundary (inside a line, a UTF-8 sequence, a CRLF).
#[derive(Debug)]
pub struct Trickle<'a> {
    data: &'a [u8],
    step: usize,
}

impl<'a> Trickle<'a> {
    /// Pieces of 1 to 7 bytes, in a pattern seeded by `seed`.
    pub fn new(data: &'a [u8], seed: u8) -> Self {
        Self {
            data,
            step: usize::from(seed),
        }
    }
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.step = self.step.wrapping_mul(5).wrapping_add(3);
        let n = (self.step % 7 + 1).min(buf.len()).min(self.data.len());
        let (head, tail) = self.data.split_at(n);
        buf[..n].copy_from_slice(head);
        self.data = tail;
        Ok(n)
    }
}

/// Every string and member name in a JSON value, depth first.
pub fn strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
        Value::Object(map) => {
            for (k, v) in map {
                out.push(k.clone());
                strings(v, out);
            }
        }
        _ => {}
    }
}

/// Fixes the checksum of every tar header in `tar` (following the chain of headers by their
/// size fields), so mutations of header fields reach the archive verifier instead of stopping
/// at the tar reader's checksum test.
pub fn fix_tar_checksums(tar: &mut [u8]) {
    let mut at = 0usize;
    while let Some(header) = tar.get_mut(at..at + 512) {
        if header.iter().all(|b| *b == 0) {
            return;
        }
        header[148..156].fill(b' ');
        let sum: u32 = header.iter().map(|b| u32::from(*b)).sum();
        let text = format!("{sum:06o}\0 ");
        header[148..156].copy_from_slice(text.as_bytes());
        let size = octal(&header[124..136]).unwrap_or(0);
        let blocks = size.div_ceil(512);
        let Some(next) = blocks
            .checked_mul(512)
            .and_then(|n| n.checked_add(512))
            .and_then(|n| usize::try_from(n).ok())
            .and_then(|n| at.checked_add(n))
        else {
            return;
        };
        at = next;
    }
}

fn octal(field: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(field).ok()?;
    let text = text.trim_matches(|c: char| c == '\0' || c == ' ');
    u64::from_str_radix(text, 8).ok()
}
