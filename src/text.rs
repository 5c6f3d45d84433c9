//! The text of a drain's cells, on its way to one JS string.
//!
//! V8 copies Latin-1 bytes into a string as they are, but must decode UTF-8
//! (about four times slower on a 10,000-row result with accented names:
//! ~4 ms against ~1 ms on the JS thread). So text is kept as Latin-1 while
//! every character fits in one byte, which is all ASCII text and most
//! Western European text, and switches to UTF-8 for good at the first
//! character above U+00FF. The work moves to the tokio worker, where rows
//! are encoded anyway.

/// Bytes in one of two encodings: Latin-1 while `latin1`, else UTF-8.
/// Empty text is Latin-1.
#[derive(Debug, PartialEq)]
pub struct Text {
    bytes: Vec<u8>,
    latin1: bool,
}

impl Default for Text {
    fn default() -> Self {
        Self::new()
    }
}

impl Text {
    pub fn new() -> Self {
        Text { bytes: Vec::new(), latin1: true }
    }

    pub fn with_capacity(n: usize) -> Self {
        Text { bytes: Vec::with_capacity(n), latin1: true }
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Whether `bytes()` is Latin-1 (else UTF-8).
    pub fn is_latin1(&self) -> bool {
        self.latin1
    }

    pub fn reserve(&mut self, n: usize) {
        self.bytes.reserve(n);
    }

    /// Appends ASCII text (the caller knows it is: a date's digits).
    pub fn push_ascii(&mut self, s: &[u8]) {
        debug_assert!(s.is_ascii());
        self.bytes.extend_from_slice(s);
    }

    /// Appends valid UTF-8 (`str::from_utf8` passed); returns its length in
    /// UTF-16 units, which is what JS slices by.
    pub fn push_utf8(&mut self, s: &[u8]) -> usize {
        if s.is_ascii() {
            self.bytes.extend_from_slice(s);
            return s.len();
        }
        // In valid UTF-8, a character below U+0100 is ASCII or two bytes
        // led by 0xC2/0xC3; any byte from 0xC4 up leads a larger one.
        if self.latin1 && s.iter().all(|&b| b < 0xC4) {
            let mut units = 0;
            let mut it = s.iter();
            while let Some(&b) = it.next() {
                let c = if b < 0x80 { b } else { ((b & 0x03) << 6) | (it.next().copied().unwrap_or(0x80) & 0x3F) };
                self.bytes.push(c);
                units += 1;
            }
            return units;
        }
        self.widen();
        self.bytes.extend_from_slice(s);
        utf16_len(s)
    }

    /// Appends another text, converting whichever side has to.
    pub fn append(&mut self, other: &Text) {
        match (self.latin1, other.latin1) {
            (true, true) | (false, false) => self.bytes.extend_from_slice(&other.bytes),
            (true, false) => {
                self.widen();
                self.bytes.extend_from_slice(&other.bytes);
            }
            (false, true) => latin1_to_utf8(&other.bytes, &mut self.bytes),
        }
    }

    /// From Latin-1 to UTF-8, once (characters above 0x7F double).
    fn widen(&mut self) {
        if !self.latin1 {
            return;
        }
        self.latin1 = false;
        if self.bytes.is_ascii() {
            return;
        }
        let mut out = Vec::with_capacity(self.bytes.len() + self.bytes.len() / 4 + 8);
        latin1_to_utf8(&self.bytes, &mut out);
        self.bytes = out;
    }
}

fn latin1_to_utf8(latin1: &[u8], out: &mut Vec<u8>) {
    if latin1.is_ascii() {
        out.extend_from_slice(latin1);
        return;
    }
    for &b in latin1 {
        if b < 0x80 {
            out.push(b);
        } else {
            out.push(0xC0 | (b >> 6));
            out.push(0x80 | (b & 0x3F));
        }
    }
}

/// UTF-16 length of valid UTF-8: one unit per scalar, two for 4-byte ones.
pub fn utf16_len(bytes: &[u8]) -> usize {
    if bytes.is_ascii() {
        return bytes.len();
    }
    bytes.iter().map(|&b| ((b & 0xC0) != 0x80) as usize + (b >= 0xF0) as usize).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What JS would see: the string the bytes decode to in their encoding.
    fn decoded(t: &Text) -> String {
        if t.is_latin1() {
            t.bytes().iter().map(|&b| char::from(b)).collect()
        } else {
            String::from_utf8(t.bytes().to_vec()).unwrap_or_default()
        }
    }

    #[test]
    fn utf16() {
        assert_eq!(utf16_len("héllo😀".as_bytes()), 7);
        assert_eq!(utf16_len(b"plain"), 5);
    }

    /// Any sequence of pieces, appended or pushed, reads back as the
    /// concatenation, with UTF-16 lengths as JS counts them; Latin-1 is kept
    /// exactly while every character fits.
    #[test]
    fn pieces_read_back_in_either_encoding() {
        let pieces = ["", "plain", "é", "ÿ\u{80}\u{a0}x", "Ā", "€", "😀", "ü after", "\u{ff}"];
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    let mut t = Text::new();
                    let mut units = 0;
                    for p in [a, b, c] {
                        units += t.push_utf8(p.as_bytes());
                    }
                    let want = format!("{a}{b}{c}");
                    assert_eq!(decoded(&t), want);
                    assert_eq!(units, want.encode_utf16().count());
                    assert_eq!(t.is_latin1(), want.chars().all(|ch| u32::from(ch) < 0x100));

                    // The same through append, from texts in mixed encodings.
                    let mut joined = Text::new();
                    for p in [a, b, c] {
                        let mut one = Text::new();
                        one.push_utf8(p.as_bytes());
                        joined.append(&one);
                    }
                    assert_eq!(decoded(&joined), want);
                    assert_eq!(joined.is_latin1(), t.is_latin1());
                }
            }
        }
        let mut t = Text::new();
        t.push_utf8("é".as_bytes());
        assert_eq!(t.bytes(), &[0xE9]);
        t.push_ascii(b"12");
        t.push_utf8("€".as_bytes());
        assert_eq!(t.bytes(), "é12€".as_bytes());
    }
}
