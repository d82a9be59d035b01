//! Language codes and names: ISO 639-1 codes from what containers and file names say
//! (`eng`, `German`, `en-US`), and the English name a menu shows.

/// Languages by the codes and names files use, to their ISO 639-1 code and English name.
const LANGUAGES: &[(&str, &[&str], &str)] = &[
    ("en", &["en", "eng", "english"], "English"),
    ("de", &["de", "ger", "deu", "german", "deutsch"], "German"),
    ("fr", &["fr", "fre", "fra", "french", "francais", "français"], "French"),
    ("es", &["es", "spa", "spanish", "espanol", "español"], "Spanish"),
    ("it", &["it", "ita", "italian", "italiano"], "Italian"),
    ("pt", &["pt", "por", "portuguese"], "Portuguese"),
    ("ru", &["ru", "rus", "russian"], "Russian"),
    ("uk", &["uk", "ukr", "ukrainian"], "Ukrainian"),
    ("pl", &["pl", "pol", "polish"], "Polish"),
    ("nl", &["nl", "dut", "nld", "dutch"], "Dutch"),
    ("sv", &["sv", "swe", "swedish"], "Swedish"),
    ("no", &["no", "nor", "norwegian"], "Norwegian"),
    ("da", &["da", "dan", "danish"], "Danish"),
    ("fi", &["fi", "fin", "finnish"], "Finnish"),
    ("cs", &["cs", "cze", "ces", "czech"], "Czech"),
    ("hu", &["hu", "hun", "hungarian"], "Hungarian"),
    ("ro", &["ro", "rum", "ron", "romanian"], "Romanian"),
    ("bg", &["bg", "bul", "bulgarian"], "Bulgarian"),
    ("el", &["el", "gre", "ell", "greek"], "Greek"),
    ("tr", &["tr", "tur", "turkish"], "Turkish"),
    ("ar", &["ar", "ara", "arabic"], "Arabic"),
    ("he", &["he", "heb", "hebrew"], "Hebrew"),
    ("ja", &["ja", "jpn", "japanese"], "Japanese"),
    ("zh", &["zh", "chi", "zho", "chinese"], "Chinese"),
    ("ko", &["ko", "kor", "korean"], "Korean"),
];

/// The ISO 639-1 code of a language code or name (`eng`, `English`, `en-US` → `en`);
/// an unknown one is kept lower-cased.
pub fn normalise_language(s: &str) -> Option<String> {
    let l = s.trim().to_lowercase();
    if l.is_empty() || l == "und" {
        return None;
    }
    let base = l.split(['-', '_']).next().unwrap_or(&l);
    LANGUAGES
        .iter()
        .find(|(_, names, _)| names.contains(&base) || names.contains(&l.as_str()))
        .map(|(code, _, _)| code.to_string())
        .or(Some(l))
}

/// The English name of a language code, or the code itself.
pub fn language_name(code: Option<&str>) -> String {
    match code {
        None => "Unknown language".into(),
        Some(c) => LANGUAGES.iter().find(|(k, _, _)| *k == c).map_or_else(|| c.to_string(), |(_, _, n)| n.to_string()),
    }
}

/// Whether a word of a file name names a known language (`eng`, `german`).
pub fn is_language(word: &str) -> bool {
    LANGUAGES.iter().any(|(_, names, _)| names.contains(&word))
}
