//! CSV as spreadsheets save it in every locale: the encoding (UTF-8, or Windows-1252, which
//! LibreOffice Calc and Excel write by default in Western locales), the separator (`;` where
//! the decimal mark is a comma, or a tab), and long numbers written in scientific notation.
//! Each is read as saved or refused with one sentence; a file is never read half right.

use std::borrow::Cow;

use super::{LineCounter, canonical_column};
use crate::error::{Error, Result};

/// The bytes Windows-1252 leaves undefined: a file holding one is in some other encoding.
const UNDEFINED_IN_WINDOWS_1252: [u8; 5] = [0x81, 0x8d, 0x8f, 0x90, 0x9d];

/// The file's text as UTF-8 bytes: UTF-8 (with or without a BOM) as it is, Windows-1252
/// decoded. Bytes that are not UTF-8 in a file that is UTF-8 elsewhere (a character cut at
/// the end, one bad field, two encodings mixed) are left for the csv reader, which names their
/// line and field: decoding such a file as Windows-1252 would turn its other accents into
/// garbage without a word.
pub(super) fn decode<'a>(source: &str, data: &'a [u8]) -> Result<Cow<'a, [u8]>> {
    let Err(e) = std::str::from_utf8(data) else {
        return Ok(Cow::Borrowed(data));
    };
    if e.error_len().is_none() || data.utf8_chunks().any(|c| !c.valid().is_ascii()) {
        return Ok(Cow::Borrowed(data));
    }
    if let Some(i) = data
        .iter()
        .position(|b| UNDEFINED_IN_WINDOWS_1252.contains(b))
    {
        let line = LineCounter::new().line_at(data, i as u64);
        return Err(Error::invalid(format!(
            "{source} is neither UTF-8 nor Windows-1252 text (line {line} holds the byte 0x{:02X}, \
             which Windows-1252 leaves undefined); save it again as CSV UTF-8",
            data[i]
        )));
    }
    let (text, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(data);
    tracing::debug!(source, "read as Windows-1252");
    Ok(Cow::Owned(text.into_owned().into_bytes()))
}

/// The separators a header line may use, and how messages name them.
const SEPARATORS: [(u8, &str); 3] = [(b',', "\",\""), (b';', "\";\""), (b'\t', "a tab")];

/// The column separator, read from the header line: the one of `,`, `;` and tab it holds
/// outside quotes (`,` when it holds none: a file of one column). A header holding several
/// is split by the one that gives it the most known columns (`account_no;Name, first`), and
/// refused naming them when that is a tie; one separated by `|` is refused naming it.
pub(super) fn separator(source: &str, text: &[u8]) -> Result<u8> {
    let header = header_line(text);
    let outside = outside_quotes(header);
    let found: Vec<(u8, &str)> = SEPARATORS
        .into_iter()
        .filter(|(sep, _)| outside.contains(sep))
        .collect();
    match found.as_slice() {
        [] if outside.contains(&b'|') => Err(Error::invalid(format!(
            "{source}: the header line is separated by \"|\"; save the file as CSV, separated by \",\" or \";\""
        ))),
        [] => Ok(b','),
        [(sep, _)] => Ok(*sep),
        several => {
            let scores: Vec<usize> = several
                .iter()
                .map(|(sep, _)| known_columns(header, *sep))
                .collect();
            let best = scores.iter().copied().max().unwrap_or(0);
            match scores.iter().position(|s| *s == best) {
                Some(i) if best > 0 && scores.iter().filter(|s| **s == best).count() == 1 => {
                    Ok(several[i].0)
                }
                _ => {
                    let names: Vec<&str> = several.iter().map(|(_, name)| *name).collect();
                    Err(Error::invalid(format!(
                        "{source}: the header line holds both {} outside quotes, so which one \
                         separates the columns is a guess; save the file again with one separator",
                        names.join(" and ")
                    )))
                }
            }
        }
    }
}

/// The first line, up to its first line end outside quotes (a quoted cell may hold one).
fn header_line(text: &[u8]) -> &[u8] {
    let mut quoted = false;
    for (i, b) in text.iter().enumerate() {
        match b {
            b'"' => quoted = !quoted,
            b'\n' | b'\r' if !quoted => return &text[..i],
            _ => {}
        }
    }
    text
}

/// The bytes of `line` outside double quotes.
fn outside_quotes(line: &[u8]) -> Vec<u8> {
    let mut quoted = false;
    let mut out = Vec::new();
    for b in line {
        if *b == b'"' {
            quoted = !quoted;
        } else if !quoted {
            out.push(*b);
        }
    }
    out
}

/// How many cells of `header`, split by `sep`, name a column caredesk knows.
fn known_columns(header: &[u8], sep: u8) -> usize {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(sep)
        .from_reader(header);
    let mut rec = csv::ByteRecord::new();
    match rdr.read_byte_record(&mut rec) {
        Ok(true) => rec
            .iter()
            .filter(|cell| canonical_column(&String::from_utf8_lossy(cell)).is_some())
            .count(),
        _ => 0,
    }
}

/// True when `value` is a number in scientific notation (`1.36E+10`, or `1,36E+10` where the
/// decimal mark is a comma): what a spreadsheet saves for a long number in a cell formatted
/// as a number, having dropped the digits that did not fit.
pub(super) fn is_scientific(value: &str) -> bool {
    let s = value.trim().as_bytes();
    let s = s
        .strip_prefix(b"+")
        .or_else(|| s.strip_prefix(b"-"))
        .unwrap_or(s);
    let digits = |s: &[u8]| s.iter().take_while(|b| b.is_ascii_digit()).count();
    let whole = digits(s);
    if whole == 0 {
        return false;
    }
    let mut rest = &s[whole..];
    if let Some(r) = rest.strip_prefix(b".").or_else(|| rest.strip_prefix(b",")) {
        rest = &r[digits(r)..];
    }
    let Some(r) = rest.strip_prefix(b"E").or_else(|| rest.strip_prefix(b"e")) else {
        return false;
    };
    let r = r
        .strip_prefix(b"+")
        .or_else(|| r.strip_prefix(b"-"))
        .unwrap_or(r);
    let exponent = digits(r);
    exponent > 0 && exponent == r.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(bytes: &[u8]) -> Result<String> {
        decode("a.csv", bytes).map(|t| String::from_utf8_lossy(&t).into_owned())
    }

    #[test]
    fn utf8_with_or_without_a_bom_is_read_as_it_is() {
        for data in [
            "account_no,name\n1,Renée\n",
            "\u{feff}account_no,name\n1,Renée\n",
        ] {
            let read = decode("a.csv", data.as_bytes()).expect("utf-8");
            assert!(matches!(read, Cow::Borrowed(_)));
            assert_eq!(&*read, data.as_bytes());
        }
    }

    #[test]
    fn windows_1252_is_decoded_including_the_letters_between_0x80_and_0x9f() {
        // "Renée" (é = 0xE9), "Šárka" (Š = 0x8A), "€" (0x80).
        let data = b"account_no,name\r\n1,Ren\xe9e\r\n2,\x8a\xe1rka\r\n3,\x80 5\r\n";
        assert_eq!(
            text(data).expect("windows-1252"),
            "account_no,name\r\n1,Renée\r\n2,Šárka\r\n3,€ 5\r\n"
        );
    }

    #[test]
    fn a_byte_windows_1252_leaves_undefined_is_refused_naming_its_line() {
        let err = text(b"account_no,name\n1,Ren\xe9e\n2,Bo\x81\n")
            .expect_err("not windows-1252")
            .to_string();
        assert_eq!(
            err,
            "a.csv is neither UTF-8 nor Windows-1252 text (line 3 holds the byte 0x81, which \
             Windows-1252 leaves undefined); save it again as CSV UTF-8"
        );
    }

    #[test]
    fn utf8_with_a_bad_byte_or_cut_short_is_never_decoded_as_windows_1252() {
        // UTF-8 "Núñez" on one line, a Windows-1252 "é" on the next: a mix, left for the csv
        // reader to name.
        let mixed = b"account_no,name\n1,N\xc3\xba\xc3\xb1ez\n2,Ren\xe9e\n";
        assert_eq!(&*decode("a.csv", mixed).expect("left as is"), &mixed[..]);
        // A character cut at the end of an otherwise ASCII file.
        let cut = b"account_no,name\n1,Jos\xc3";
        assert_eq!(&*decode("a.csv", cut).expect("left as is"), &cut[..]);
    }

    #[test]
    fn the_separator_is_the_one_the_header_line_holds_outside_quotes() {
        let sep = |h: &str| separator("a.csv", h.as_bytes());
        assert_eq!(sep("account_no,name\n1;2,3\n").expect(","), b',');
        assert_eq!(sep("account_no;name\n1,2;3\n").expect(";"), b';');
        assert_eq!(sep("account_no\tname\n").expect("tab"), b'\t');
        assert_eq!(sep("account_no\n1;2\n").expect("one column"), b',');
        assert_eq!(sep("\"a,b\";account_no\n").expect("quoted"), b';');
        assert_eq!(sep("\"a\r\nb;c\",account_no\n").expect("quoted"), b',');
        assert_eq!(sep("account_no;name\r1,2\r").expect("lone CR"), b';');
        // Both: the one giving known columns wins; a tie is a guess, refused.
        assert_eq!(sep("account_no;Name, first\n").expect("known"), b';');
        assert_eq!(sep("Phone,Notes; more\n").expect("known"), b',');
        let err = sep("a;b,c\n").expect_err("a tie").to_string();
        assert_eq!(
            err,
            "a.csv: the header line holds both \",\" and \";\" outside quotes, so which one \
             separates the columns is a guess; save the file again with one separator"
        );
        let err = sep("account_no|name\n").expect_err("pipe").to_string();
        assert!(err.contains("separated by \"|\""), "{err}");
    }

    #[test]
    fn scientific_notation_is_told_from_phone_and_account_numbers() {
        for yes in [
            "1.36E+10",
            "1,36E+10",
            "1.36e+10",
            "3E+08",
            "1.2345678901E10",
            " 1.3E+10 ",
            "-1E-3",
        ] {
            assert!(is_scientific(yes), "{yes}");
        }
        for no in [
            "13600000000",
            "+1 206 555 0123",
            "(206) 555-0123",
            "206.555.0123",
            "E+10",
            "1.36E",
            "1.36E+",
            "1.36E+10x",
            "",
            "ext",
        ] {
            assert!(!is_scientific(no), "{no}");
        }
    }
}
