//! Link tokens for consent and survey links, the ids they are derived
//! from, and the hashes stored in their place (R-TOKEN-1, R-TOKEN-2,
//! R-TOKEN-4, R-INPUT).
//!
//! Each link has a random [`LinkId`]; its [`LinkToken`] (256 bits, 64 hex
//! digits in the link) is derived from the id with a key the application
//! keeps outside the database (the service's link key port). No store ever
//! holds a token (R-TOKEN-4): the nomination keeps the token's
//! [`TokenHash`], and the pending message keeps the [`LinkId`], which is
//! useless without the key. The core never sees a token it could leak
//! either: a transition that sends a link takes a [`FreshLink`], the id and
//! the hash. A presented token is checked against the stored hash in
//! constant time.
//!
//! ```
//! use mci_core::{FreshLink, LinkId, LinkToken, TokenHash};
//!
//! // The service draws the id and derives the token with its key.
//! let id = LinkId::from_bytes([3; 16]);
//! let token = LinkToken::from_bytes([7; 32]);
//! let fresh = FreshLink::new(id, &token);
//! let stored: TokenHash = *fresh.hash();
//!
//! let presented: LinkToken = token.to_string().parse().unwrap();
//! assert!(stored.matches(&presented));
//! assert!(!stored.matches(&LinkToken::from_bytes([8; 32])));
//!
//! // Debug output never shows the token.
//! assert_eq!(format!("{token:?}"), "LinkToken(..)");
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq;

use crate::document::{parse_hex, parse_hex_32, write_hex};
use crate::id::string_conversions;
use crate::invalid::InvalidValue;

/// A secret link token (R-TOKEN-1): 32 bytes (256 bits) the service derives
/// from a [`LinkId`] with its link key, or any 32 bytes nobody can guess.
///
/// Shown and parsed as 64 hex digits (lowercase out, any case in) so it can be
/// put in a link; `Debug` never shows it. Equality is constant-time
/// (R-TOKEN-2). It is neither hashed nor ordered: store and look up its
/// [`TokenHash`], never the token.
#[derive(Clone, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LinkToken([u8; 32]);

impl LinkToken {
    /// The name of the field this value is refused under by default.
    pub const FIELD: &'static str = "token";

    /// A token from 32 bytes that nobody can guess: derived with a key the
    /// application keeps, or drawn from a secure random source (R-TOKEN-1).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The SHA-256 of the token's bytes: what is stored (R-TOKEN-2).
    pub fn hash(&self) -> TokenHash {
        TokenHash(Sha256::digest(self.0).into())
    }
}

impl ConstantTimeEq for LinkToken {
    fn ct_eq(&self, other: &Self) -> subtle::Choice {
        self.0.as_slice().ct_eq(other.0.as_slice())
    }
}

impl PartialEq for LinkToken {
    /// Constant-time comparison (R-TOKEN-2).
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl Eq for LinkToken {}

impl fmt::Debug for LinkToken {
    /// Never the token: `LinkToken(..)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LinkToken(..)")
    }
}

impl fmt::Display for LinkToken {
    /// 64 lowercase hex digits, for the link.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}

impl FromStr for LinkToken {
    type Err = InvalidValue;

    /// Reads 64 hex digits, any case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_hex_32(Self::FIELD, s).map(Self)
    }
}

string_conversions!(LinkToken);

/// The SHA-256 of a [`LinkToken`], the only form in which tokens are stored
/// (R-TOKEN-2). Shown and serialised as 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    /// The name of the field this value is refused under by default.
    pub const FIELD: &'static str = "token_hash";

    /// A hash from its 32 bytes (as read back from storage).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Whether `token` hashes to this hash, compared in constant time
    /// (R-TOKEN-2).
    pub fn matches(&self, token: &LinkToken) -> bool {
        token.hash().0.as_slice().ct_eq(self.0.as_slice()).into()
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenHash(")?;
        write_hex(f, &self.0)?;
        f.write_str(")")
    }
}

impl fmt::Display for TokenHash {
    /// 64 lowercase hex digits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}

impl FromStr for TokenHash {
    type Err = InvalidValue;

    /// Reads 64 hex digits, any case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_hex_32(Self::FIELD, s).map(Self)
    }
}

string_conversions!(TokenHash);

/// The random id of a link (R-TOKEN-1, R-TOKEN-4): 16 bytes from a secure
/// random source, from which the service derives the link's token with a
/// key the application keeps outside the database.
///
/// A pending message carries the id, never the token, so whoever reads the
/// store (a backup, a replica, a support query) holds nothing that opens a
/// link without the key. Shown and serialised as 32 lowercase hex digits.
///
/// ```
/// use mci_core::LinkId;
///
/// let id = LinkId::from_bytes([0xab; 16]);
/// assert_eq!(id.to_string(), "ab".repeat(16));
/// assert_eq!(id.to_string().parse::<LinkId>().unwrap(), id);
/// assert!("ab".parse::<LinkId>().is_err());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LinkId([u8; 16]);

impl LinkId {
    /// The name of the field this value is refused under by default.
    pub const FIELD: &'static str = "link_id";

    /// An id from 16 bytes of a secure random source (R-TOKEN-1).
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    /// The 16 bytes: what the link key derives the token from.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl fmt::Debug for LinkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LinkId(")?;
        write_hex(f, &self.0)?;
        f.write_str(")")
    }
}

impl fmt::Display for LinkId {
    /// 32 lowercase hex digits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}

impl FromStr for LinkId {
    type Err = InvalidValue;

    /// Reads 32 hex digits, any case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_hex(Self::FIELD, s).map(Self)
    }
}

string_conversions!(LinkId);

/// A link about to be sent (R-TOKEN-4): its id, which the message carries,
/// and the hash of its token, which the nomination keeps. The token itself
/// stays with the service and whoever delivers the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FreshLink {
    id: LinkId,
    hash: TokenHash,
}

impl FreshLink {
    /// The link `id` whose token is `token`.
    pub fn new(id: LinkId, token: &LinkToken) -> Self {
        Self {
            id,
            hash: token.hash(),
        }
    }

    /// The link's id.
    pub fn id(&self) -> &LinkId {
        &self.id
    }

    /// The hash of the link's token.
    pub fn hash(&self) -> &TokenHash {
        &self.hash
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token() -> LinkToken {
        let mut bytes = [0_u8; 32];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = u8::try_from(i).unwrap().wrapping_mul(37).wrapping_add(11);
        }
        LinkToken::from_bytes(bytes)
    }

    #[test]
    fn r_token_debug_never_prints_the_token() {
        let t = token();
        let hex = t.to_string();
        assert_eq!(format!("{t:?}"), "LinkToken(..)");
        assert_eq!(format!("{t:#?}"), "LinkToken(..)");
        assert!(!format!("{:?}", Some(&t)).contains(&hex));
        assert!(!format!("{:?}", Some(&t)).contains(&hex[..8]));
    }

    #[test]
    fn r_token_1_tokens_carry_256_bits_as_64_hex_digits() {
        let t = token();
        let hex = t.to_string();
        assert_eq!(hex.len(), 64);
        assert!(
            hex.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        assert_eq!(hex.parse::<LinkToken>().unwrap(), t);
        assert_eq!(hex.to_uppercase().parse::<LinkToken>().unwrap(), t);
    }

    #[test]
    fn r_input_tokens_refuse_malformed_text() {
        let hex = token().to_string();
        for bad in [
            "",
            "abc",
            &hex[..63],
            &format!("{hex}0"),
            &format!("z{}", &hex[1..]),
        ] {
            let err = bad.parse::<LinkToken>().unwrap_err();
            assert_eq!(err.field(), "token", "{bad:?}");
            assert_eq!(err.rule(), "R-INPUT");
        }
    }

    #[test]
    fn r_token_2_only_the_sha256_is_stored() {
        let t = LinkToken::from_bytes([0; 32]);
        // SHA-256 of 32 zero bytes.
        assert_eq!(
            t.hash().to_string(),
            "66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925"
        );
        assert_ne!(t.hash().to_string(), t.to_string());
    }

    #[test]
    fn r_token_2_hash_matches_only_its_token() {
        let t = token();
        let stored = t.hash();
        assert!(stored.matches(&t));
        assert!(stored.matches(&t.to_string().parse().unwrap()));
        let mut other = [0_u8; 32];
        other[31] = 1;
        assert!(!stored.matches(&LinkToken::from_bytes(other)));
        assert!(!TokenHash::from_bytes([0; 32]).matches(&t));
    }

    #[test]
    fn r_token_2_equality_is_constant_time_comparison() {
        let a = token();
        let b = a.clone();
        assert_eq!(a, b);
        assert!(bool::from(a.ct_eq(&b)));
        assert_ne!(a, LinkToken::from_bytes([1; 32]));
    }

    #[test]
    fn r_token_hash_round_trips_as_hex() {
        let h = token().hash();
        assert_eq!(h.to_string().parse::<TokenHash>().unwrap(), h);
        assert_eq!(TokenHash::from_bytes(*h.as_bytes()), h);
        assert_eq!(format!("{h:?}"), format!("TokenHash({h})"));
        let json = serde_json::to_string(&h).unwrap();
        assert_eq!(json, format!("\"{h}\""));
        assert_eq!(serde_json::from_str::<TokenHash>(&json).unwrap(), h);
        assert!(serde_json::from_str::<TokenHash>("\"00\"").is_err());
    }

    #[test]
    fn r_token_serializes_as_hex_string() {
        let t = token();
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, format!("\"{t}\""));
        assert_eq!(serde_json::from_str::<LinkToken>(&json).unwrap(), t);
        assert!(serde_json::from_str::<LinkToken>("\"xyz\"").is_err());
    }
}
