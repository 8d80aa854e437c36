//! The links a nomination has sent out, kept as token hashes (R-TOKEN).
//!
//! Each send of a consent or survey email issues a fresh link ([`FreshLink`]:
//! a [`LinkId`](crate::LinkId) and the hash of the token derived from it);
//! the nomination keeps only the [`TokenHash`], bound to the nomination and one
//! [`LinkPurpose`] (R-TOKEN-2). Earlier links of the same purpose stay valid
//! until they are voided, by a contact change (R-CONSENT-4, R-CLAIM-W-4) or by
//! cancelling; a voided link's hash is dropped, so it fails like any wrong
//! token (R-TOKEN-3).
//!
//! ```
//! use mci_core::{FreshLink, IssuedLink, LinkId, LinkPurpose, LinkToken};
//!
//! let token = LinkToken::from_bytes([7; 32]);
//! let fresh = FreshLink::new(LinkId::from_bytes([1; 16]), &token);
//! let link = IssuedLink::new(&fresh, LinkPurpose::Consent, chrono::DateTime::UNIX_EPOCH);
//! assert!(link.opens(&token, LinkPurpose::Consent));
//! assert!(!link.opens(&token, LinkPurpose::CustomerSurvey));
//! assert!(!link.opens(&LinkToken::from_bytes([8; 32]), LinkPurpose::Consent));
//! ```

use crate::time::Instant;
use crate::{FreshLink, LinkToken, TokenHash};
use serde::{Deserialize, Serialize};
use std::fmt;

/// What a link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkPurpose {
    /// The customer accepts or declines consent (R-CONSENT-2).
    Consent,
    /// The partner's contacts complete the partner survey (R-CLAIM-W-3).
    PartnerSurvey,
    /// The customer completes the customer survey (R-CLAIM-W-3).
    CustomerSurvey,
}

impl fmt::Display for LinkPurpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LinkPurpose::Consent => "consent",
            LinkPurpose::PartnerSurvey => "partner survey",
            LinkPurpose::CustomerSurvey => "customer survey",
        })
    }
}

/// A link sent out: the hash of its token, its purpose, and when.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct IssuedLink {
    hash: TokenHash,
    purpose: LinkPurpose,
    issued_at: Instant,
}

impl IssuedLink {
    /// The record of `link` issued for `purpose` at `issued_at`.
    pub fn new(link: &FreshLink, purpose: LinkPurpose, issued_at: Instant) -> Self {
        Self {
            hash: *link.hash(),
            purpose,
            issued_at,
        }
    }

    /// The token's hash, which stores index to find the nomination.
    pub fn hash(&self) -> &TokenHash {
        &self.hash
    }

    /// What the link is for.
    pub fn purpose(&self) -> LinkPurpose {
        self.purpose
    }

    /// When it was issued.
    pub fn issued_at(&self) -> Instant {
        self.issued_at
    }

    /// Whether `token` opens this link for `purpose`, compared in constant
    /// time (R-TOKEN-2).
    pub fn opens(&self, token: &LinkToken, purpose: LinkPurpose) -> bool {
        // Both checks run whatever the purpose, so timing tells nothing.
        let matches = self.hash.matches(token);
        matches & (self.purpose == purpose)
    }
}
