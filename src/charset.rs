//! Character sets on the wire. A text column's bytes are in the character
//! set its collation id names (what `character_set_results` made of them,
//! so `SET NAMES cp1251` in a session is honoured), and mysql2 decodes each
//! column by it; SQL text and string parameters go out in the `charset`
//! option's set, as mysql2 encodes them. encoding_rs does the conversions;
//! a set it cannot convert is refused with a clear error, never garbled.
use crate::collations::COLLATIONS;
use encoding_rs::Encoding;
use std::borrow::Cow;

/// How text in one character set becomes UTF-8 and back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Charset {
    /// UTF-8 already (utf8mb4, utf8mb3, ascii): bytes pass as they are.
    Utf8,
    /// Converted by encoding_rs.
    Other(&'static Encoding),
    /// UTF-32 big-endian (no WHATWG encoding exists for it).
    Utf32,
    /// utf8mb3 as mysql2 treats it (CESU-8): a character beyond the BMP
    /// travels as two 3-byte surrogates, which utf8mb3 can hold.
    Cesu8,
    /// latin1 as mysql2 treats it (Node's 'latin1'): each byte is the code
    /// point of the same value, and a character is sent as its low byte.
    Latin1,
    /// Named here so the error can say which.
    Unsupported(&'static str),
}

/// The character set of a collation id (a column's `characterSet`).
pub fn of_collation(id: u16) -> Charset {
    match COLLATIONS.binary_search_by_key(&id, |(n, _)| *n) {
        Ok(i) => COLLATIONS.get(i).map(|(_, name)| of_name(name)).unwrap_or(Charset::Utf8),
        // A collation newer than the table: servers only add utf8mb4 ones.
        Err(_) => Charset::Utf8,
    }
}

/// The character set of a name as MySQL spells it (lowercase).
pub fn of_name(name: &str) -> Charset {
    use encoding_rs::*;
    let enc: &'static Encoding = match name {
        "utf8mb4" | "ascii" | "binary" => return Charset::Utf8,
        "utf8mb3" | "utf8" => return Charset::Cesu8,
        "utf32" => return Charset::Utf32,
        "latin1" => return Charset::Latin1,
        "latin2" => ISO_8859_2,
        "latin5" => WINDOWS_1254,
        "latin7" => ISO_8859_13,
        "cp1250" => WINDOWS_1250,
        "cp1251" => WINDOWS_1251,
        "cp1256" => WINDOWS_1256,
        "cp1257" => WINDOWS_1257,
        "cp866" => IBM866,
        "koi8r" => KOI8_R,
        "koi8u" => KOI8_U,
        "greek" => ISO_8859_7,
        "hebrew" => ISO_8859_8,
        "tis620" => WINDOWS_874,
        "macroman" => MACINTOSH,
        "big5" => BIG5,
        "gb2312" | "gbk" => GBK,
        "gb18030" => GB18030,
        "euckr" => EUC_KR,
        "ujis" | "eucjpms" => EUC_JP,
        "sjis" | "cp932" => SHIFT_JIS,
        "ucs2" | "utf16" => UTF_16BE,
        "utf16le" => UTF_16LE,
        other => return Charset::Unsupported(unsupported_name(other)),
    };
    Charset::Other(enc)
}

/// The names with no conversion here, as 'static text for the error.
fn unsupported_name(name: &str) -> &'static str {
    const KNOWN: [&str; 10] =
        ["dec8", "cp850", "hp8", "swe7", "armscii8", "keybcs2", "macce", "cp852", "geostd8", "filename"];
    KNOWN.iter().find(|k| **k == name).copied().unwrap_or("unknown")
}

impl Charset {
    pub fn is_utf8(self) -> bool {
        self == Charset::Utf8
    }

    /// Text in this set as UTF-8 (malformed input becomes U+FFFD, as
    /// mysql2's decoders do).
    pub fn decode(self, bytes: &[u8]) -> Cow<'_, str> {
        match self {
            Charset::Utf8 | Charset::Unsupported(_) => String::from_utf8_lossy(bytes),
            Charset::Other(enc) => enc.decode_without_bom_handling(bytes).0,
            Charset::Latin1 => Cow::Owned(bytes.iter().map(|&b| char::from(b)).collect()),
            Charset::Cesu8 => match std::str::from_utf8(bytes) {
                // Plain UTF-8 never holds surrogates: nothing to join.
                Ok(s) => Cow::Borrowed(s),
                Err(_) => Cow::Owned(decode_cesu8(bytes)),
            },
            Charset::Utf32 => Cow::Owned(
                bytes
                    .chunks(4)
                    .map(|c| {
                        let mut b = [0u8; 4];
                        b[4 - c.len()..].copy_from_slice(c);
                        char::from_u32(u32::from_be_bytes(b)).unwrap_or(char::REPLACEMENT_CHARACTER)
                    })
                    .collect(),
            ),
        }
    }

    /// UTF-8 text in this set; characters it cannot hold become '?', as
    /// mysql2's encoder (iconv-lite) writes them.
    pub fn encode(self, text: &str) -> Cow<'_, [u8]> {
        match self {
            Charset::Utf8 | Charset::Unsupported(_) => Cow::Borrowed(text.as_bytes()),
            Charset::Utf32 => Cow::Owned(text.chars().flat_map(|c| (c as u32).to_be_bytes()).collect()),
            Charset::Latin1 => Cow::Owned(text.encode_utf16().map(|u| u as u8).collect()),
            Charset::Cesu8 if text.chars().all(|c| (c as u32) < 0x10000) => Cow::Borrowed(text.as_bytes()),
            Charset::Cesu8 => {
                let mut out = Vec::with_capacity(text.len() + 8);
                let mut buf = [0u8; 4];
                for c in text.chars() {
                    if (c as u32) < 0x10000 {
                        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                    } else {
                        let mut units = [0u16; 2];
                        for u in c.encode_utf16(&mut units) {
                            out.extend_from_slice(&[
                                0xE0 | (*u >> 12) as u8,
                                0x80 | ((*u >> 6) & 0x3F) as u8,
                                0x80 | (*u & 0x3F) as u8,
                            ]);
                        }
                    }
                }
                Cow::Owned(out)
            }
            Charset::Other(enc) if enc == encoding_rs::UTF_16BE || enc == encoding_rs::UTF_16LE => {
                let be = enc == encoding_rs::UTF_16BE;
                Cow::Owned(
                    text.encode_utf16().flat_map(|u| if be { u.to_be_bytes() } else { u.to_le_bytes() }).collect(),
                )
            }
            Charset::Other(enc) => {
                let mut encoder = enc.new_encoder();
                let mut out = Vec::with_capacity(text.len());
                let mut rest = text;
                loop {
                    let want = encoder
                        .max_buffer_length_from_utf8_without_replacement(rest.len())
                        .unwrap_or(rest.len() * 4 + 16);
                    out.reserve(want);
                    let (result, read) = encoder.encode_from_utf8_to_vec_without_replacement(rest, &mut out, true);
                    rest = &rest[read..];
                    match result {
                        encoding_rs::EncoderResult::InputEmpty => break,
                        encoding_rs::EncoderResult::OutputFull => {}
                        encoding_rs::EncoderResult::Unmappable(_) => out.push(b'?'),
                    }
                }
                Cow::Owned(out)
            }
        }
    }
}

/// CESU-8 (and plain UTF-8) to text: 3-byte surrogate pairs are joined;
/// anything malformed becomes U+FFFD.
fn decode_cesu8(bytes: &[u8]) -> String {
    let mut units: Vec<u16> = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let rest = &bytes[i..];
        let b0 = rest[0];
        let (cp, len) = if b0 < 0x80 {
            (u32::from(b0), 1)
        } else if b0 & 0xE0 == 0xC0 && rest.len() >= 2 {
            ((u32::from(b0 & 0x1F) << 6) | u32::from(rest[1] & 0x3F), 2)
        } else if b0 & 0xF0 == 0xE0 && rest.len() >= 3 {
            ((u32::from(b0 & 0x0F) << 12) | (u32::from(rest[1] & 0x3F) << 6) | u32::from(rest[2] & 0x3F), 3)
        } else if b0 & 0xF8 == 0xF0 && rest.len() >= 4 {
            let cp = (u32::from(b0 & 0x07) << 18)
                | (u32::from(rest[1] & 0x3F) << 12)
                | (u32::from(rest[2] & 0x3F) << 6)
                | u32::from(rest[3] & 0x3F);
            (cp, 4)
        } else {
            (0xFFFD, 1)
        };
        if cp >= 0x10000 {
            let mut pair = [0u16; 2];
            units.extend_from_slice(char::from_u32(cp).unwrap_or('\u{FFFD}').encode_utf16(&mut pair));
        } else {
            units.push(cp as u16);
        }
        i += len;
    }
    String::from_utf16_lossy(&units)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_ids() {
        assert_eq!(of_collation(45), Charset::Utf8); // utf8mb4_general_ci
        assert_eq!(of_collation(33), Charset::Cesu8); // utf8mb3_general_ci
        assert_eq!(of_collation(51), Charset::Other(encoding_rs::WINDOWS_1251)); // cp1251_general_ci
        assert_eq!(of_collation(7), Charset::Other(encoding_rs::KOI8_R)); // koi8r_general_ci
        assert_eq!(of_collation(255), Charset::Utf8); // MySQL 8 utf8mb4_0900_ai_ci
        assert_eq!(of_name("dec8"), Charset::Unsupported("dec8"));
    }

    #[test]
    fn round_trips() {
        let cp1251 = of_name("cp1251");
        let bytes = cp1251.encode("привет");
        assert_eq!(bytes.as_ref(), &[0xEF, 0xF0, 0xE8, 0xE2, 0xE5, 0xF2]);
        assert_eq!(cp1251.decode(&bytes), "привет");
        // Unmappable characters become '?', as in mysql2.
        assert_eq!(cp1251.encode("a€😀").as_ref(), b"a\x88?");
        let cesu = of_name("utf8mb3");
        assert_eq!(cesu.encode("a💩").as_ref(), b"a\xed\xa0\xbd\xed\xb2\xa9");
        assert_eq!(cesu.decode(b"a\xed\xa0\xbd\xed\xb2\xa9"), "a💩");
        assert_eq!(cesu.decode("é💩".as_bytes()), "é💩");
        let latin1 = of_name("latin1");
        assert_eq!(latin1.decode(b"caf\xe9\x80"), "caf\u{e9}\u{80}");
        assert_eq!(latin1.encode("café р").as_ref(), b"caf\xe9 @");
        let utf32 = of_name("utf32");
        assert_eq!(utf32.decode(&utf32.encode("é😀")), "é😀");
        let ucs2 = of_name("ucs2");
        assert_eq!(ucs2.decode(&ucs2.encode("жz")), "жz");
    }
}
