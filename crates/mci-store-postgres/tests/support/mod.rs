//! Nominations for the tests of this directory, built with the core as the
//! service builds them.
#![allow(dead_code, unreachable_pub)]

use mci_core::*;
use mci_testkit::{admin_of, contacts, engagement};

/// A workshop allowing `limit` live nominations per customer.
pub fn workshop(id: &str, limit: u32) -> Engagement {
    engagement(id, EngagementKind::Workshop, limit)
}

/// Customer `n`, identified by TPID `n`.
pub fn customer(n: u64) -> Customer {
    identify_customer(
        CustomerIdInput::Tpid(Tpid::new(n).unwrap()),
        format!("it@customer{n}.example").parse().unwrap(),
        None,
        DirectoryFinding::OwnsDomain(true),
    )
    .unwrap()
}

/// Partner `p` adds customer `c` to `engagement` at `now`, the nomination
/// taking the id `id`.
pub fn add(id: NominationId, p: u32, c: u64, engagement: &Engagement, now: Instant) -> Outcome {
    let request = NominationRequest {
        friendly_name: format!("Customer {c} by partner {p}").parse().unwrap(),
        location: "1234567".parse().unwrap(),
        customer: customer(c),
        customer_contacts: contacts("Carla", &format!("cio@customer{c}.example")),
        partner_contacts: contacts("Ada", &format!("ada@partner{p}.example")),
        hours: None,
        origin: Origin::Added,
    };
    let candidates = [Candidate {
        engagement,
        facts: EligibilityFacts {
            location: LocationStanding::Eligible,
            customer: CustomerStanding::Eligible,
            competitors: Vec::new(),
        },
    }];
    nominate(now, &admin_of(p), request, &candidates, || id)
        .unwrap()
        .remove(0)
}

/// The token of link `n`: distinct for every `n`, where the testkit's
/// tokens are 256.
pub fn token_of(n: u64) -> LinkToken {
    let mut bytes = [0xa5; 32];
    bytes[..8].copy_from_slice(&n.to_le_bytes());
    LinkToken::from_bytes(bytes)
}

/// Link `n` about to be sent, its token [`token_of`]`(n)`.
pub fn link_of(n: u64) -> FreshLink {
    let mut id = [0x5a; 16];
    id[..8].copy_from_slice(&n.to_le_bytes());
    FreshLink::new(LinkId::from_bytes(id), &token_of(n))
}

/// Partner `p` sends `n` the consent email through link `l` at `now`.
pub fn send_consent(n: &Nomination, p: u32, l: u64, now: Instant) -> Outcome {
    n.send_consent(now, &admin_of(p), SendConsent::default(), &link_of(l))
        .unwrap()
}
