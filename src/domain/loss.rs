//! Declaring a category permanently lost (a supervisor, once recovery is exhausted): the
//! declaration that opens the appreciation credit.

use super::category::Category;

/// Why a category cannot be declared permanently lost.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LossRefusal {
    #[error("account {account_no} has no {category} recorded for {incident}")]
    NotRecorded {
        account_no: String,
        category: Category,
        incident: String,
    },
    #[error("account {account_no}'s {category} were not lost by the server")]
    NotLostByServer {
        account_no: String,
        category: Category,
    },
}

impl LossRefusal {
    /// Naming a category the account has no impact for is a mistake in the request.
    pub fn is_bad_input(&self) -> bool {
        matches!(self, Self::NotRecorded { .. })
    }
}

/// What a declaration of permanent loss leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LossDecision {
    /// Declared before: nothing to write.
    AlreadyDeclared,
    Declare,
}

/// The category's facts as recorded for the incident, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LossFacts {
    pub server_lost: bool,
    pub permanent_loss: bool,
}

/// Only a category the server lost can be declared permanently lost; declaring it twice is a
/// replay.
pub fn declare_loss(
    account_no: &str,
    category: Category,
    incident: &str,
    facts: Option<LossFacts>,
) -> Result<LossDecision, LossRefusal> {
    let Some(f) = facts else {
        return Err(LossRefusal::NotRecorded {
            account_no: account_no.to_string(),
            category,
            incident: incident.to_string(),
        });
    };
    if !f.server_lost {
        return Err(LossRefusal::NotLostByServer {
            account_no: account_no.to_string(),
            category,
        });
    }
    if f.permanent_loss {
        return Ok(LossDecision::AlreadyDeclared);
    }
    Ok(LossDecision::Declare)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_category_the_server_lost_is_declared_and_only_once() {
        let lost = |permanent_loss| {
            Some(LossFacts {
                server_lost: true,
                permanent_loss,
            })
        };
        assert_eq!(
            declare_loss("100", Category::Contacts, "i", lost(false)),
            Ok(LossDecision::Declare)
        );
        assert_eq!(
            declare_loss("100", Category::Contacts, "i", lost(true)),
            Ok(LossDecision::AlreadyDeclared)
        );
        let e = declare_loss(
            "100",
            Category::Photos,
            "i",
            Some(LossFacts {
                server_lost: false,
                permanent_loss: false,
            }),
        )
        .expect_err("intact");
        assert_eq!(
            e.to_string(),
            "account 100's photos were not lost by the server"
        );
        assert!(!e.is_bad_input());
        let e = declare_loss("100", Category::Notes, "i", None).expect_err("unknown");
        assert_eq!(e.to_string(), "account 100 has no notes recorded for i");
        assert!(e.is_bad_input());
    }
}
