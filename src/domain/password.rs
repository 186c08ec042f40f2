//! The rules of passwords and logins through a server: what a new password must be, how long a
//! session lasts, and how much each failed login slows the next answer.

use std::time::Duration;

/// Fewest characters of a password an agent chooses.
pub const MIN_PASSWORD_CHARS: usize = 12;

/// Most characters of a password (argon2 would take any length; a bound keeps requests small).
pub const MAX_PASSWORD_CHARS: usize = 1024;

/// Why a new password is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordRefusal {
    #[error("a password needs at least {MIN_PASSWORD_CHARS} characters")]
    TooShort,
    #[error("a password may have at most {MAX_PASSWORD_CHARS} characters")]
    TooLong,
    #[error("a password may not be the login itself")]
    IsLogin,
    #[error("the new password must differ from the one-time password")]
    Unchanged,
    #[error("wrong login or password")]
    Wrong,
}

/// Checks a password an agent chose in place of `old` (the one-time password).
pub fn check_new_password(login: &str, old: &str, new: &str) -> Result<(), PasswordRefusal> {
    let n = new.chars().count();
    if n < MIN_PASSWORD_CHARS {
        return Err(PasswordRefusal::TooShort);
    }
    if n > MAX_PASSWORD_CHARS {
        return Err(PasswordRefusal::TooLong);
    }
    if new.eq_ignore_ascii_case(login) {
        return Err(PasswordRefusal::IsLogin);
    }
    if new == old {
        return Err(PasswordRefusal::Unchanged);
    }
    Ok(())
}

/// How long a server waits before answering a login after `failures` failed ones in a row:
/// nothing for the first two, then doubling from half a second up to 8 s. Counted per agent in
/// the database, so every server slows the same guesses.
pub fn login_delay(failures: i64) -> Duration {
    if failures < 3 {
        return Duration::ZERO;
    }
    let steps = u32::try_from((failures - 3).min(4)).unwrap_or(4);
    Duration::from_millis(500 * 2u64.pow(steps))
}

/// How long a session lasts unless logged out or revoked: a shift and a half.
pub const SESSION_HOURS: i64 = 12;

/// Letters of a one-time password: no 0/O, 1/l/I, so it can be read out over the phone.
const OTP_ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// A one-time password from 20 random values (four groups of five, about 116 bits).
pub fn one_time_password(mut next: impl FnMut(usize) -> usize) -> String {
    let mut out = String::with_capacity(23);
    for i in 0..20 {
        if i > 0 && i % 5 == 0 {
            out.push('-');
        }
        out.push(char::from(
            OTP_ALPHABET[next(OTP_ALPHABET.len()) % OTP_ALPHABET.len()],
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_password_is_long_enough_not_the_login_and_not_the_old_one() {
        assert_eq!(
            check_new_password("alice", "x", "short"),
            Err(PasswordRefusal::TooShort)
        );
        assert_eq!(
            check_new_password("alicealiceal", "x", "ALICEALICEAL"),
            Err(PasswordRefusal::IsLogin)
        );
        assert_eq!(
            check_new_password("alice", "same-password-1", "same-password-1"),
            Err(PasswordRefusal::Unchanged)
        );
        assert_eq!(
            check_new_password("alice", "x", &"a".repeat(MAX_PASSWORD_CHARS + 1)),
            Err(PasswordRefusal::TooLong)
        );
        assert_eq!(
            check_new_password("alice", "x", "correct horse battery"),
            Ok(())
        );
    }

    #[test]
    fn failed_logins_slow_the_next_answer_doubling_up_to_eight_seconds() {
        assert_eq!(login_delay(0), Duration::ZERO);
        assert_eq!(login_delay(2), Duration::ZERO);
        assert_eq!(login_delay(3), Duration::from_millis(500));
        assert_eq!(login_delay(4), Duration::from_secs(1));
        assert_eq!(login_delay(7), Duration::from_secs(8));
        assert_eq!(login_delay(1000), Duration::from_secs(8));
    }

    #[test]
    fn a_one_time_password_is_four_groups_of_five_readable_letters() {
        let mut n = 0;
        let p = one_time_password(|len| {
            n += 7;
            n % len
        });
        assert_eq!(p.len(), 23);
        assert_eq!(p.split('-').count(), 4);
        assert!(!p.contains(['0', 'O', '1', 'l', 'I']));
    }
}
