//! The kinds of customer data the incident affected, one status and one restore per kind.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::parse::{UnknownValue, parse_keyword};

/// A kind of data the service kept for a customer and lost in the incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    Contacts,
    Calendar,
    Notes,
    Tasks,
    Photos,
    Email,
}

impl Category {
    /// Every category, contacts first because servers were rebuilt in that order and agents
    /// expect to see it on top.
    pub const ALL: [Category; 6] = [
        Category::Contacts,
        Category::Calendar,
        Category::Notes,
        Category::Tasks,
        Category::Photos,
        Category::Email,
    ];

    /// The name used on the command line, in files and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Contacts => "contacts",
            Category::Calendar => "calendar",
            Category::Notes => "notes",
            Category::Tasks => "tasks",
            Category::Photos => "photos",
            Category::Email => "email",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for Category {
    type Err = UnknownValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_keyword(s, "a category", &Category::ALL, Category::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_category_parses_back_from_its_name() {
        for c in Category::ALL {
            assert_eq!(c.as_str().parse::<Category>(), Ok(c));
            assert_eq!(c.to_string(), c.as_str());
        }
    }

    #[test]
    fn parsing_ignores_case_and_surrounding_spaces() {
        assert_eq!(" Contacts ".parse::<Category>(), Ok(Category::Contacts));
        assert_eq!("EMAIL".parse::<Category>(), Ok(Category::Email));
    }

    #[test]
    fn an_unknown_category_is_named_and_the_valid_ones_listed() {
        let err = "music".parse::<Category>().expect_err("not a category");
        assert_eq!(
            err.to_string(),
            "\"music\" is not a category; expected one of: contacts, calendar, notes, tasks, photos, email"
        );
    }

    #[test]
    fn categories_serialize_as_their_names() {
        assert_eq!(
            serde_json::to_string(&Category::Photos).ok().as_deref(),
            Some("\"photos\"")
        );
        assert_eq!(
            serde_json::from_str::<Category>("\"notes\"").ok(),
            Some(Category::Notes)
        );
    }
}
