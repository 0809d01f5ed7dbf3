//! Names as people type them (scenes, and the audio inputs and sources the configuration lists):
//! exact first, then case-insensitive, then a unique part of a name, then a close spelling — but
//! only when unambiguous; otherwise the candidates.

/// The result of matching a typed name against a list of names (scenes, inputs, sources).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameMatch {
    Found(String),
    /// Several names match equally well.
    Ambiguous(Vec<String>),
    /// Nothing close; the nearest names (at most three).
    NotFound(Vec<String>),
}

/// Similarity needed for a spelling match, and how clearly it must beat the next best.
const FUZZY_MIN: f64 = 0.7;
const FUZZY_MARGIN: f64 = 0.1;

/// Match `query` against `names` (only those: nothing else is ever found or listed).
pub fn resolve(query: &str, names: &[String]) -> NameMatch {
    let query = query.trim();
    if let Some(exact) = names.iter().find(|s| *s == query) {
        return NameMatch::Found(exact.clone());
    }
    let lower = query.to_lowercase();
    let same_case: Vec<&String> = names.iter().filter(|s| s.to_lowercase() == lower).collect();
    match same_case.as_slice() {
        [one] => return NameMatch::Found((*one).clone()),
        [_, _, ..] => return NameMatch::Ambiguous(same_case.into_iter().cloned().collect()),
        [] => {}
    }
    let containing: Vec<&String> = names
        .iter()
        .filter(|s| s.to_lowercase().contains(&lower))
        .collect();
    match containing.as_slice() {
        [one] => return NameMatch::Found((*one).clone()),
        [_, _, ..] => return NameMatch::Ambiguous(containing.into_iter().cloned().collect()),
        [] => {}
    }
    let mut scored: Vec<(f64, &String)> = names
        .iter()
        .map(|s| {
            (
                strsim::normalized_damerau_levenshtein(&lower, &s.to_lowercase()),
                s,
            )
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    match scored.as_slice() {
        [(best, name), rest @ ..]
            if *best >= FUZZY_MIN
                && rest
                    .first()
                    .is_none_or(|(next, _)| best - next >= FUZZY_MARGIN) =>
        {
            NameMatch::Found((*name).clone())
        }
        [(best, _), ..] if *best >= FUZZY_MIN => NameMatch::Ambiguous(
            scored
                .iter()
                .take_while(|(score, _)| best - score < FUZZY_MARGIN)
                .map(|(_, n)| (*n).clone())
                .collect(),
        ),
        _ => NameMatch::NotFound(scored.into_iter().take(3).map(|(_, n)| n.clone()).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenes() -> Vec<String> {
        [
            "LIVE",
            "LOW",
            "BRB",
            "OFFLINE",
            "Starting soon",
            "Camera 1",
            "Camera 2",
            "live chat",
        ]
        .into_iter()
        .map(String::from)
        .collect()
    }

    fn check(query: &str, expected: NameMatch) {
        assert_eq!(resolve(query, &scenes()), expected, "{query}");
    }

    fn found(name: &str) -> NameMatch {
        NameMatch::Found(name.into())
    }

    fn list(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn exact_then_case_insensitive() {
        check("LIVE", found("LIVE"));
        check("brb", found("BRB"));
        check("  Starting soon ", found("Starting soon"));
    }

    #[test]
    fn a_unique_part_of_a_name() {
        check("start", found("Starting soon"));
        check("chat", found("live chat"));
    }

    #[test]
    fn parts_shared_by_several_names_are_ambiguous() {
        check(
            "camera",
            NameMatch::Ambiguous(list(&["Camera 1", "Camera 2"])),
        );
    }

    #[test]
    fn close_spellings_when_unambiguous() {
        check("ofline", found("OFFLINE"));
        check("stating soon", found("Starting soon"));
    }

    #[test]
    fn nothing_close_lists_the_nearest() {
        match resolve("kitchen", &scenes()) {
            NameMatch::NotFound(candidates) => assert_eq!(candidates.len(), 3),
            other => panic!("{other:?}"),
        }
        assert_eq!(resolve("x", &[]), NameMatch::NotFound(vec![]));
    }
}
