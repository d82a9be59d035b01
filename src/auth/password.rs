//! Password hashing: argon2id at OWASP's minimum parameters (m = 19 MiB, t = 2,
//! p = 1) with a random per-user salt, stored as a PHC string.

use std::sync::LazyLock;

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};

/// Memory cost in KiB (19 MiB).
pub const M_COST_KIB: u32 = 19 * 1024;
pub const T_COST: u32 = 2;
pub const P_COST: u32 = 1;

/// Shortest accepted password, in characters.
pub const MIN_LEN: usize = 8;
/// Longest accepted password, in bytes (argon2 takes any length; this bounds the work).
pub const MAX_LEN: usize = 1024;

fn hasher() -> Argon2<'static> {
    let params = Params::new(M_COST_KIB, T_COST, P_COST, Some(32)).expect("valid argon2 params");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Checks a new password against the policy; the message says what is wrong.
pub fn check_policy(password: &str) -> Result<(), String> {
    if password.chars().count() < MIN_LEN {
        return Err(format!("the password must have at least {MIN_LEN} characters"));
    }
    if password.len() > MAX_LEN {
        return Err(format!("the password must have at most {MAX_LEN} bytes"));
    }
    let lower = password.to_lowercase();
    if COMMON.contains(lower.as_str()) || lower.chars().all(|c| lower.starts_with(c)) {
        return Err("this password is among the most commonly used ones, which are tried first; choose another".into());
    }
    Ok(())
}

/// The passwords of 8 characters or more among the 10 000 most used (the frequency
/// list of zxcvbn, MIT licence, via the zxcvbn crate 3.1.1): refused as in NIST SP 800-63B.
static COMMON: LazyLock<std::collections::HashSet<&'static str>> =
    LazyLock::new(|| include_str!("common_passwords.txt").lines().collect());

/// Hashes a password with a fresh random salt. Takes tens of milliseconds: call it
/// from a blocking thread in async code.
pub fn hash(password: &str) -> anyhow::Result<String> {
    let h = hasher().hash_password(password.as_bytes()).map_err(|e| anyhow::anyhow!("hashing the password: {e}"))?;
    Ok(h.to_string())
}

/// A hash of a password nobody knows, with the same parameters, so that checking a
/// login for an unknown user costs what checking a real one costs.
static DUMMY: LazyLock<String> = LazyLock::new(|| {
    let random = super::tokens::random_token(24);
    hash(&random).expect("hashing a random password")
});

/// Checks `password` against a stored PHC string; `None` (an unknown user) is
/// checked against a dummy hash and always fails, taking the same time.
pub fn verify(password: &str, stored: Option<&str>) -> bool {
    let target = stored.unwrap_or(DUMMY.as_str());
    let ok = match PasswordHash::new(target) {
        Ok(parsed) => hasher().verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(_) => {
            // A damaged hash: still spend the time, then refuse.
            let parsed = PasswordHash::new(DUMMY.as_str()).expect("dummy hash parses");
            let _ = hasher().verify_password(password.as_bytes(), &parsed);
            false
        }
    };
    ok && stored.is_some()
}

/// Computes the dummy hash now, so the first login of an unknown user is not faster.
pub fn warm_up() {
    LazyLock::force(&DUMMY);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn hashes_verify_and_use_owasp_params() {
        let h = hash("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify("correct horse battery", Some(&h)));
        assert!(!verify("correct horse batterz", Some(&h)));
        assert!(!verify("correct horse battery", None));
        assert!(!verify("x", Some("not a phc string")));
        // A per-user salt: the same password hashes differently each time.
        assert_ne!(h, hash("correct horse battery").unwrap());
    }

    #[test]
    fn unknown_user_costs_about_the_same() {
        warm_up();
        let h = hash("some password here").unwrap();
        let time = |stored: Option<&str>| {
            let t = Instant::now();
            verify("wrong password!", stored);
            t.elapsed().as_secs_f64()
        };
        // Interleaved, keeping the fastest of each: robust to a busy machine, where a
        // single sample can be slowed down many times over.
        let (mut known, mut unknown) = (f64::MAX, f64::MAX);
        for _ in 0..7 {
            known = known.min(time(Some(&h)));
            unknown = unknown.min(time(None));
        }
        let ratio = known / unknown;
        assert!((0.5..2.0).contains(&ratio), "known {known:.3}s vs unknown {unknown:.3}s");
    }

    #[test]
    fn policy() {
        assert!(check_policy("short").is_err());
        assert!(check_policy("long enough").is_ok());
        assert!(check_policy(&"x".repeat(2000)).is_err());
        for common in ["password", "Password", "12345678", "iloveyou", "qwertyuiop", "aaaaaaaaaa", "trustno1"] {
            let e = check_policy(common).unwrap_err();
            assert!(e.contains("commonly used"), "{common}: {e}");
        }
        assert!(check_policy("violet kettle drums").is_ok());
    }
}
