//! How an error crosses the wire: the same object `--format json` prints on stderr
//! (`{"error": sentence, "code": exit code, "kind": …}`), turned back into the same error on
//! the client, so a command through a server says the same sentence and exits the same.

use serde::{Deserialize, Serialize};

use crate::error::Error;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: String,
    pub code: u8,
    pub kind: String,
}

impl ErrorBody {
    pub fn of(e: &Error) -> Self {
        Self {
            error: e.to_string(),
            code: e.exit_code(),
            kind: e.kind().to_string(),
        }
    }

    pub fn into_error(self) -> Error {
        match self.code {
            2 => Error::Invalid(self.error),
            3 => Error::Refused(self.error),
            4 => Error::Partial(self.error),
            _ => Error::System(self.error),
        }
    }

    /// The HTTP status a server answers this error with.
    pub fn status(&self) -> u16 {
        match self.code {
            2 => 400,
            3 => 403,
            4 => 409,
            _ => 500,
        }
    }
}
