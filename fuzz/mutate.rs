//! The mutations: bit flips, interesting integers at any offset, cuts, repeats and splices with
//! other seeds; in text formats also numbers swapped for edge values and whole lines dropped or
//! repeated.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::MAX_INPUT_BYTES;

/// One to four stacked mutations of `input`.
pub fn mutate(input: &mut Vec<u8>, seeds: &[Vec<u8>], text: bool, rng: &mut ChaCha8Rng) {
    for _ in 0..rng.random_range(1..=4) {
        let kinds = if text { 11 } else { 8 };
        match rng.random_range(0..kinds) {
            0 if !input.is_empty() => {
                let i = rng.random_range(0..input.len());
                input[i] ^= 1 << rng.random_range(0..8);
            }
            1 if !input.is_empty() => {
                let i = rng.random_range(0..input.len());
                let random = rng.random();
                input[i] = *pick(rng, &[0, 1, 0x7f, 0x80, 0xff, random]);
            }
            2 | 3 if input.len() >= 4 => {
                // An integer field: the interesting values, and the lengths near the file's own.
                let len = input.len() as u32;
                let values = [
                    0,
                    1,
                    2,
                    0x7f,
                    0xff,
                    0x7fff,
                    0xffff,
                    0x8000_0000,
                    0x7fff_ffff,
                    u32::MAX,
                    len,
                    len - 1,
                    len + 1,
                    len * 2,
                    rng.random::<u32>() % 256,
                ];
                let value = *pick(rng, &values);
                let wide = rng.random_bool(0.5);
                let bytes = if wide { value.to_le_bytes().to_vec() } else { (value as u16).to_le_bytes().to_vec() };
                let i = rng.random_range(0..=input.len() - bytes.len());
                input[i..i + bytes.len()].copy_from_slice(&bytes);
            }
            4 if !input.is_empty() => {
                let at = rng.random_range(0..input.len());
                let longest = if rng.random_bool(0.8) { 16 } else { 4096 };
                let n = rng.random_range(1..=(input.len() - at).min(longest));
                input.drain(at..at + n);
            }
            5 if !input.is_empty() && input.len() < MAX_INPUT_BYTES => {
                let from = rng.random_range(0..input.len());
                let n = rng.random_range(1..=(input.len() - from).min(256));
                let piece = input[from..from + n].to_vec();
                let at = rng.random_range(0..=input.len());
                let times = rng.random_range(1..=4);
                for _ in 0..times {
                    input.splice(at..at, piece.iter().copied());
                }
            }
            6 if !input.is_empty() => input.truncate(rng.random_range(0..input.len())),
            7 => {
                // The head of this input, the tail of another seed.
                let other = &seeds[rng.random_range(0..seeds.len())];
                let at = rng.random_range(0..=input.len().min(other.len()));
                input.truncate(at);
                input.extend_from_slice(&other[at..]);
            }
            8 => replace_number(input, rng),
            9 => edit_line(input, rng, false),
            10 => edit_line(input, rng, true),
            _ => {}
        }
    }
    input.truncate(MAX_INPUT_BYTES);
}

fn pick<'a, T>(rng: &mut ChaCha8Rng, values: &'a [T]) -> &'a T {
    &values[rng.random_range(0..values.len())]
}

/// Replaces one number of a text with an extreme one.
fn replace_number(input: &mut Vec<u8>, rng: &mut ChaCha8Rng) {
    let numbers: Vec<(usize, usize)> = {
        let mut spans = Vec::new();
        let mut i = 0;
        while i < input.len() {
            if input[i].is_ascii_digit() {
                let start = if i > 0 && input[i - 1] == b'-' { i - 1 } else { i };
                while i < input.len() && (input[i].is_ascii_digit() || matches!(input[i], b'.' | b'e' | b'E')) {
                    i += 1;
                }
                spans.push((start, i));
            }
            i += 1;
        }
        spans
    };
    if numbers.is_empty() {
        return;
    }
    let (start, end) = *pick(rng, &numbers);
    let replacement = *pick(
        rng,
        &[
            "0",
            "-1",
            "-0",
            "1e308",
            "-1e308",
            "1e-310",
            "nan",
            "inf",
            "-inf",
            "4294967296",
            "18446744073709551616",
            "99999999999999999999999",
            "2147483648",
            "0.5",
            "65536",
            "1e9",
        ],
    );
    input.splice(start..end, replacement.bytes());
}

/// Deletes a line, or repeats one.
fn edit_line(input: &mut Vec<u8>, rng: &mut ChaCha8Rng, repeat: bool) {
    let starts: Vec<usize> =
        std::iter::once(0).chain(input.iter().enumerate().filter(|(_, b)| **b == b'\n').map(|(i, _)| i + 1)).collect();
    let line = rng.random_range(0..starts.len());
    let start = starts[line];
    let end = starts.get(line + 1).copied().unwrap_or(input.len());
    if repeat {
        let copy = input[start..end].to_vec();
        input.splice(start..start, copy);
    } else {
        input.drain(start..end);
    }
}
