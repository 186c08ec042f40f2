//! Text from outside (the database, files, the keyboard): making it safe to show on a
//! terminal, and the normalized forms used to match names and e-mail addresses.

use std::borrow::Cow;
use std::iter::Peekable;
use std::str::Chars;

use unicode_normalization::UnicodeNormalization;

const BEL: char = '\u{07}';
const ESC: char = '\u{1b}';
/// CAN and SUB abort an escape sequence in a terminal's parser, so they end one here too.
const CAN: char = '\u{18}';
const SUB: char = '\u{1a}';
const C1_DCS: char = '\u{90}';
const C1_SOS: char = '\u{98}';
const C1_CSI: char = '\u{9b}';
const C1_ST: char = '\u{9c}';
const C1_OSC: char = '\u{9d}';
const C1_PM: char = '\u{9e}';
const C1_APC: char = '\u{9f}';

/// Characters that change how text is laid out or read without being visible: bidi
/// overrides can make `evil.exe` display as `exe.live`, and zero-width characters make two
/// names that look the same compare different.
fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{061c}'
            | '\u{200b}'..='\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}'
            | '\u{feff}'
    )
}

/// Characters that become a plain space: they separate words, so dropping them would glue
/// `"Jane\tDoe"` into `"JaneDoe"`. U+2028/U+2029 are Unicode's own line and paragraph breaks.
fn is_breaking_space(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{2028}' | '\u{2029}')
}

/// Whether [`sanitize`] removes or replaces `c`.
pub fn needs_sanitizing(c: char) -> bool {
    // char::is_control covers C0, DEL and C1 exactly.
    c.is_control() || is_invisible_format(c) || is_breaking_space(c)
}

/// Makes text safe to put on a terminal.
///
/// Removes escape sequences whole (so no stray `[31m` is left behind), C0 and C1 controls,
/// DEL, bidi controls and zero-width characters. Tab, CR, LF and the Unicode line separators
/// each become one space. Returns the input borrowed when it was already clean, which is
/// nearly always, so rendering a table does not allocate per cell.
///
/// An escape string (OSC, DCS, …) that is never terminated swallows the rest of the text,
/// as it would in a terminal: showing its payload could reveal what the sender hid.
pub fn sanitize(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_sanitizing) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ESC => skip_escape(&mut chars),
            C1_CSI => skip_control_sequence(&mut chars),
            C1_OSC => skip_control_string(&mut chars, true),
            C1_DCS | C1_SOS | C1_PM | C1_APC => skip_control_string(&mut chars, false),
            c if is_breaking_space(c) => out.push(' '),
            c if needs_sanitizing(c) => {}
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Skips what follows an ESC that has already been consumed.
fn skip_escape(chars: &mut Peekable<Chars<'_>>) {
    match chars.peek().copied() {
        Some('[') => {
            chars.next();
            skip_control_sequence(chars);
        }
        Some(']') => {
            chars.next();
            skip_control_string(chars, true);
        }
        Some('P' | 'X' | '^' | '_') => {
            chars.next();
            skip_control_string(chars, false);
        }
        Some('\u{20}'..='\u{2f}') => {
            // Intermediate bytes, e.g. `ESC ( B` selecting a character set, then one final byte.
            while chars
                .next_if(|c| matches!(c, '\u{20}'..='\u{2f}'))
                .is_some()
            {}
            chars.next_if(|c| matches!(c, '\u{30}'..='\u{7e}'));
        }
        Some('\u{30}'..='\u{7e}') => {
            chars.next();
        }
        // A lone ESC, or one before a control or non-ASCII character: drop only the ESC and
        // let the main loop judge what follows.
        _ => {}
    }
}

/// Skips a CSI sequence's parameter and intermediate bytes and its final byte. Anything
/// else ends the sequence early and is left for the main loop, as a terminal would.
fn skip_control_sequence(chars: &mut Peekable<Chars<'_>>) {
    while chars
        .next_if(|c| matches!(c, '\u{20}'..='\u{3f}'))
        .is_some()
    {}
    chars.next_if(|c| matches!(c, '\u{40}'..='\u{7e}'));
}

/// Skips an OSC, DCS, SOS, PM or APC payload up to and including its string terminator
/// (`ESC \` or the 8-bit ST; BEL too for OSC, which xterm accepts and most senders use).
fn skip_control_string(chars: &mut Peekable<Chars<'_>>, bel_terminates: bool) {
    while let Some(c) = chars.next() {
        match c {
            C1_ST | CAN | SUB => return,
            BEL if bel_terminates => return,
            ESC => {
                if chars.next_if_eq(&'\\').is_none() {
                    // Any other ESC aborts the string and starts a new sequence.
                    skip_escape(chars);
                }
                return;
            }
            _ => {}
        }
    }
}

/// The form names are matched and indexed by: compatibility-normalized (so full-width and
/// ligature letters match their plain forms), lowercase, sanitized, with whitespace runs
/// collapsed to one space and trimmed. `"  JOSÉ  Núñez "` becomes `"josé núñez"`.
pub fn normalize_name(s: &str) -> String {
    let clean = sanitize(s);
    // NFKC again after lowercasing, because lowercasing can produce sequences that NFKC
    // composes differently, and the result must be a fixed point to work as a key.
    let folded: String = clean.nfkc().flat_map(char::to_lowercase).nfkc().collect();
    // NFKC can turn a character into a control or format one it was not before
    // (rare, but keys must never carry them), so sanitize the folded form as well.
    let folded = sanitize(&folded);
    let mut out = String::with_capacity(folded.len());
    for word in folded.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// The form names are searched by: `normalize_name` without diacritics, so "nunez" finds
/// "Núñez" on both backends (SQLite's trigram index and PostgreSQL's search column are both
/// built from this form, stored as `name_norm`).
pub fn search_fold(s: &str) -> String {
    normalize_name(s)
        .nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .nfc()
        .collect()
}

/// The form e-mail addresses are matched by: trimmed and lowercased.
pub fn normalize_email(s: &str) -> String {
    s.trim().to_lowercase()
}

/// Text output (or an error message) made safe for a terminal while keeping its layout:
/// the newlines and tabs it is made of stay, everything between them is sanitized.
/// Borrowed (no copy) when it was already clean, which is always unless a bug let
/// something through.
pub fn terminal_text(text: &str) -> Cow<'_, str> {
    let unsafe_char = |c: char| c != '\n' && c != '\t' && needs_sanitizing(c);
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        for (j, field) in line.split('\t').enumerate() {
            if j > 0 {
                out.push('\t');
            }
            out.push_str(&sanitize(field));
        }
    }
    Cow::Owned(out)
}

/// A spreadsheet reads a cell that starts with =, +, -, @, tab or CR as a formula; text cells
/// of a CSV file get a leading apostrophe so whoever opens it runs nothing.
pub fn neutralise_cell(s: &str) -> Cow<'_, str> {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{s}"))
    } else {
        Cow::Borrowed(s)
    }
}

/// The longest query a search takes, in characters. Longer than any name, e-mail address
/// (254) or phone number an agent types; a longer "query" is a file or a paste gone wrong,
/// and searching (and echoing) it would only cost time and memory.
pub const MAX_QUERY_CHARS: usize = 256;

/// The one refusal of a query longer than [`MAX_QUERY_CHARS`]. The query itself is not
/// quoted: it may be megabytes long.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the query is longer than {MAX_QUERY_CHARS} characters, the most a lookup takes")]
pub struct QueryTooLong;

/// Refuses a query longer than [`MAX_QUERY_CHARS`] characters (surrounding whitespace does
/// not count).
pub fn check_query(query: &str) -> Result<(), QueryTooLong> {
    // No UTF-8 character is longer than 4 bytes: a short byte length needs no counting.
    let q = query.trim();
    if q.len() <= MAX_QUERY_CHARS || q.chars().count() <= MAX_QUERY_CHARS {
        Ok(())
    } else {
        Err(QueryTooLong)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_is_taken_up_to_the_limit_in_characters_not_bytes() {
        assert_eq!(check_query(&"a".repeat(MAX_QUERY_CHARS)), Ok(()));
        assert_eq!(
            check_query(&"é".repeat(MAX_QUERY_CHARS)),
            Ok(()),
            "2 bytes each"
        );
        assert_eq!(
            check_query(&format!("  {}  ", "a".repeat(MAX_QUERY_CHARS))),
            Ok(()),
            "surrounding spaces do not count"
        );
        assert_eq!(
            check_query(&"a".repeat(MAX_QUERY_CHARS + 1)),
            Err(QueryTooLong)
        );
        assert!(QueryTooLong.to_string().contains("256 characters"));
    }

    #[test]
    fn search_fold_drops_diacritics_and_case() {
        assert_eq!(search_fold("  José  NÚÑEZ "), "jose nunez");
        assert_eq!(search_fold("Zoë Østergaard"), "zoe østergaard");
        assert_eq!(search_fold("王芳"), "王芳");
    }
    use proptest::prelude::*;

    fn is_forbidden(c: char) -> bool {
        let u = u32::from(c);
        u < 0x20
            || (0x7f..=0x9f).contains(&u)
            || (0x202a..=0x202e).contains(&u)
            || (0x2066..=0x2069).contains(&u)
            || (0x200b..=0x200f).contains(&u)
            || u == 0x061c
            || u == 0xfeff
    }

    #[test]
    fn clean_text_is_returned_without_copying() {
        assert!(matches!(
            sanitize("José Núñez, 206-555-0123"),
            Cow::Borrowed(_)
        ));
        assert!(matches!(sanitize(""), Cow::Borrowed(_)));
    }

    #[test]
    fn colour_codes_are_removed_whole() {
        assert_eq!(sanitize("\u{1b}[1;31mRED\u{1b}[0m alert"), "RED alert");
        assert_eq!(sanitize("\u{1b}[?1049h"), "");
    }

    #[test]
    fn a_window_title_change_is_removed_with_its_payload() {
        assert_eq!(sanitize("a\u{1b}]0;pwned\u{07}b"), "ab");
        assert_eq!(sanitize("a\u{1b}]0;pwned\u{1b}\\b"), "ab");
        assert_eq!(sanitize("a\u{9d}0;pwned\u{9c}b"), "ab");
    }

    #[test]
    fn a_hyperlink_is_reduced_to_its_visible_text() {
        let link = "\u{1b}]8;;https://evil.example\u{1b}\\click\u{1b}]8;;\u{1b}\\";
        assert_eq!(sanitize(link), "click");
    }

    #[test]
    fn device_control_and_private_strings_are_removed_up_to_their_terminator() {
        assert_eq!(sanitize("a\u{1b}Pq#0;2;0;0;0\u{1b}\\b"), "ab");
        assert_eq!(sanitize("a\u{1b}_secret\u{1b}\\b"), "ab");
        assert_eq!(sanitize("a\u{1b}^pm\u{9c}b"), "ab");
        assert_eq!(sanitize("a\u{1b}Xsos\u{1b}\\b"), "ab");
        assert_eq!(sanitize("a\u{90}dcs\u{9c}b"), "ab");
    }

    #[test]
    fn an_unterminated_string_swallows_the_rest() {
        assert_eq!(sanitize("name\u{1b}]0;everything after"), "name");
    }

    #[test]
    fn an_escape_inside_a_string_starts_a_new_sequence() {
        assert_eq!(sanitize("a\u{1b}]0;x\u{1b}[31mb"), "ab");
    }

    #[test]
    fn an_eight_bit_csi_is_removed_with_its_parameters() {
        assert_eq!(sanitize("a\u{9b}31mb"), "ab");
    }

    #[test]
    fn short_escape_sequences_are_removed_whole() {
        assert_eq!(sanitize("a\u{1b}cb"), "ab");
        assert_eq!(sanitize("a\u{1b}(Bb"), "ab");
        assert_eq!(sanitize("a\u{1b}7b\u{1b}8"), "ab");
        assert_eq!(sanitize("trailing\u{1b}"), "trailing");
    }

    #[test]
    fn a_control_character_cuts_a_sequence_short_and_is_itself_dropped() {
        assert_eq!(sanitize("a\u{1b}[31\u{07}mb"), "amb");
    }

    #[test]
    fn tabs_and_line_breaks_become_one_space_each() {
        assert_eq!(sanitize("Jane\tDoe"), "Jane Doe");
        assert_eq!(sanitize("line1\r\nline2"), "line1  line2");
        assert_eq!(sanitize("a\u{2028}b"), "a b");
    }

    #[test]
    fn other_controls_and_delete_are_dropped() {
        assert_eq!(sanitize("a\u{0}b\u{8}c\u{7f}d\u{85}e"), "abcde");
    }

    #[test]
    fn bidi_overrides_and_zero_width_characters_are_dropped() {
        assert_eq!(sanitize("invoice\u{202e}fdp.exe"), "invoicefdp.exe");
        assert_eq!(sanitize("\u{feff}Jo\u{200b}hn\u{2066}\u{200f}"), "John");
        assert_eq!(sanitize("\u{61c}x"), "x");
    }

    #[test]
    fn names_are_folded_to_one_comparable_form() {
        assert_eq!(normalize_name("  JOSÉ  Núñez "), "josé núñez");
        assert_eq!(normalize_name("Jane\t\u{a0}Doe"), "jane doe");
        assert_eq!(normalize_name("ＪＡＮＥ"), "jane");
        assert_eq!(normalize_name("Jo\u{200b}hn \u{1b}[31mSmith"), "john smith");
        assert_eq!(normalize_name("   "), "");
    }

    #[test]
    fn composed_and_decomposed_accents_give_the_same_name() {
        assert_eq!(normalize_name("Jose\u{301}"), normalize_name("Jos\u{e9}"));
    }

    #[test]
    fn emails_are_trimmed_and_lowercased() {
        assert_eq!(
            normalize_email("  Jane.Doe@Example.COM "),
            "jane.doe@example.com"
        );
    }

    fn hostile_text() -> impl Strategy<Value = String> {
        let interesting = prop::sample::select(vec![
            '\u{1b}', '[', ']', '\\', 'P', 'X', '^', '_', '(', ';', '0', 'm', '\u{07}', '\t', '\n',
            '\r', '\u{0}', '\u{18}', '\u{7f}', '\u{85}', '\u{90}', '\u{9b}', '\u{9c}', '\u{9d}',
            '\u{9f}', '\u{200b}', '\u{200e}', '\u{202e}', '\u{2066}', '\u{2069}', '\u{61c}',
            '\u{feff}', '\u{2028}', 'é', 'a', ' ',
        ]);
        prop::collection::vec(prop_oneof![3 => interesting, 1 => any::<char>()], 0..64)
            .prop_map(|chars| chars.into_iter().collect())
    }

    proptest! {
        #[test]
        fn sanitized_text_never_contains_a_control_or_invisible_character(s in hostile_text()) {
            let out = sanitize(&s);
            prop_assert!(!out.chars().any(is_forbidden), "{:?} -> {:?}", s, out);
        }

        #[test]
        fn sanitizing_twice_is_the_same_as_once(s in hostile_text()) {
            let once = sanitize(&s).into_owned();
            let twice = sanitize(&once);
            prop_assert!(matches!(twice, Cow::Borrowed(_)));
            prop_assert_eq!(twice.as_ref(), once.as_str());
        }

        #[test]
        fn text_without_controls_passes_through_unchanged(s in "[^\\p{Cc}\\p{Cf}\u{2028}\u{2029}]{0,40}") {
            prop_assert_eq!(sanitize(&s), Cow::Borrowed(s.as_str()));
        }

        #[test]
        fn normalized_names_are_a_fixed_point(s in hostile_text()) {
            let once = normalize_name(&s);
            prop_assert_eq!(normalize_name(&once), once.clone());
            prop_assert!(!once.chars().any(is_forbidden));
            prop_assert!(!once.starts_with(' ') && !once.ends_with(' ') && !once.contains("  "));
        }

        #[test]
        fn normalized_names_are_a_fixed_point_for_any_text(s in "\\PC{0,30}") {
            let once = normalize_name(&s);
            prop_assert_eq!(normalize_name(&once), once);
        }
    }

    #[test]
    fn terminal_text_keeps_layout_and_drops_the_rest() {
        assert!(matches!(terminal_text("a\tb\nc\n"), Cow::Borrowed(_)));
        assert_eq!(
            terminal_text("a\u{1b}]52;c;ZXZpbA==\u{7}\tb\u{1b}[2J\nc\r\u{8}\n"),
            "a\tb\nc \n"
        );
    }

    #[test]
    fn cells_a_spreadsheet_would_run_as_formulas_are_neutralised() {
        for cell in ["=HYPERLINK(\"x\")", "+1", "-2", "@SUM(A1)", "\tx", "\rx"] {
            assert!(neutralise_cell(cell).starts_with('\''), "{cell}");
        }
        assert_eq!(neutralise_cell("310000001"), "310000001");
        assert_eq!(neutralise_cell("danger-2009-10"), "danger-2009-10");
    }
}
