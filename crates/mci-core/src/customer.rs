//! Customers, how they are identified, and their contacts (R-ADD-3..5).
//!
//! A partner names a customer by one [`CustomerIdInput`]. An email alone is
//! resolved to a tenant through the tenant directory; a tenant id or TPID is
//! checked against the email's domain, and a mismatch needs a reason
//! (R-ADD-3, R-ADD-4). The directory is a port of the service: the core takes
//! its answer as a [`DirectoryFinding`].
//!
//! ```
//! use mci_core::{identify_customer, CustomerId, CustomerIdInput, CustomerIdType, DirectoryFinding};
//!
//! let email = "ada@contoso.example".parse().unwrap();
//! let tenant = "7f1c2c4e-5d0b-4b57-9d43-2b8c1a9e0f11".parse().unwrap();
//! let customer = identify_customer(
//!     CustomerIdInput::EmailOnly,
//!     email,
//!     None,
//!     DirectoryFinding::TenantOfDomain(Some(tenant)),
//! )
//! .unwrap();
//! assert_eq!(customer.id(), &CustomerId::Tenant(tenant));
//! assert_eq!(customer.id_type(), CustomerIdType::Domain);
//! ```

use crate::invalid::{InvalidValue, Problem};
use crate::refusal::Refusal;
use crate::{
    AzureSubscriptionId, Comment, ContactName, CustomerIdType, EmailAddress, MsxOpportunityId,
    TenantId, Tpid,
};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The identity a nomination is keyed on: one customer for the guards of
/// R-CONSENT-8, R-ADD-7 and R-ENG-5. Eligibility is per identifier and does
/// not cascade to other identifiers of the same organisation (R-ADD-5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum CustomerId {
    /// A tenant, given or derived from an email domain.
    Tenant(TenantId),
    /// A top parent id.
    Tpid(Tpid),
    /// An Azure subscription.
    AzureSubscription(AzureSubscriptionId),
    /// An MSX opportunity (variable pay).
    MsxOpportunity(MsxOpportunityId),
}

impl fmt::Display for CustomerId {
    /// `tenant:<guid>`, `tpid:<n>`, `subscription:<guid>` or `msx:<id>`:
    /// one canonical key per identifier, used by stores as an index key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CustomerId::Tenant(id) => write!(f, "tenant:{id}"),
            CustomerId::Tpid(id) => write!(f, "tpid:{id}"),
            CustomerId::AzureSubscription(id) => write!(f, "subscription:{id}"),
            CustomerId::MsxOpportunity(id) => write!(f, "msx:{id}"),
        }
    }
}

impl FromStr for CustomerId {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, InvalidValue> {
        let field = |e: InvalidValue| e.for_field("customer_id");
        match s.split_once(':') {
            Some(("tenant", id)) => Ok(CustomerId::Tenant(id.parse().map_err(field)?)),
            Some(("tpid", id)) => Ok(CustomerId::Tpid(id.parse().map_err(field)?)),
            Some(("subscription", id)) => {
                Ok(CustomerId::AzureSubscription(id.parse().map_err(field)?))
            }
            Some(("msx", id)) => Ok(CustomerId::MsxOpportunity(id.parse().map_err(field)?)),
            _ => Err(InvalidValue::new(
                "customer_id",
                Problem::Syntax(
                    "expected tenant:, tpid:, subscription: or msx: and a value".into(),
                ),
            )),
        }
    }
}

impl From<CustomerId> for String {
    fn from(id: CustomerId) -> String {
        id.to_string()
    }
}

impl TryFrom<String> for CustomerId {
    type Error = InvalidValue;
    fn try_from(s: String) -> Result<Self, InvalidValue> {
        s.parse()
    }
}

/// What the partner typed to identify the customer (R-ADD-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum CustomerIdInput {
    /// Only the customer's email: the tenant is derived from its domain (R-ADD-3).
    EmailOnly,
    /// A tenant id: the email's domain must belong to it (R-ADD-4).
    TenantId(TenantId),
    /// A TPID: the email's domain must belong to a tenant under it (R-ADD-4).
    Tpid(Tpid),
    /// An Azure subscription id.
    AzureSubscriptionId(AzureSubscriptionId),
    /// An MSX opportunity id (variable pay).
    MsxOpportunityId(MsxOpportunityId),
}

impl CustomerIdInput {
    /// The ID type this input nominates by (R-ENG-3).
    pub fn id_type(&self) -> CustomerIdType {
        match self {
            CustomerIdInput::EmailOnly => CustomerIdType::Domain,
            CustomerIdInput::TenantId(_) => CustomerIdType::TenantId,
            CustomerIdInput::Tpid(_) => CustomerIdType::Tpid,
            CustomerIdInput::AzureSubscriptionId(_) => CustomerIdType::AzureSubscriptionId,
            CustomerIdInput::MsxOpportunityId(_) => CustomerIdType::MsxOpportunityId,
        }
    }

    /// What the service must ask the tenant directory before
    /// [`identify_customer`] can decide.
    pub fn directory_question(&self) -> DirectoryQuestion {
        match self {
            CustomerIdInput::EmailOnly => DirectoryQuestion::TenantOfDomain,
            CustomerIdInput::TenantId(tenant) => DirectoryQuestion::TenantOwnsDomain(*tenant),
            CustomerIdInput::Tpid(tpid) => DirectoryQuestion::TpidOwnsDomain(*tpid),
            CustomerIdInput::AzureSubscriptionId(_) | CustomerIdInput::MsxOpportunityId(_) => {
                DirectoryQuestion::None
            }
        }
    }
}

/// The question for the tenant directory that an input needs answered, about
/// the domain of the customer's email.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DirectoryQuestion {
    /// Which tenant owns the domain? (R-ADD-3)
    TenantOfDomain,
    /// Does this tenant own the domain? (R-ADD-4)
    TenantOwnsDomain(TenantId),
    /// Does a tenant under this TPID own the domain? (R-ADD-4)
    TpidOwnsDomain(Tpid),
    /// Nothing to ask.
    None,
}

/// The tenant directory's answer to a [`DirectoryQuestion`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DirectoryFinding {
    /// The tenant found for the email's domain, if any.
    TenantOfDomain(Option<TenantId>),
    /// Whether the given tenant (or a tenant under the given TPID) owns the
    /// email's domain.
    OwnsDomain(bool),
    /// No question was asked.
    NotAsked,
}

/// A customer as a nomination records it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Customer {
    id: CustomerId,
    id_type: CustomerIdType,
    email: EmailAddress,
    mismatch_reason: Option<Comment>,
}

impl Customer {
    /// The identity the nomination is keyed on.
    pub fn id(&self) -> &CustomerId {
        &self.id
    }

    /// How the partner identified the customer (Domain when derived from the
    /// email).
    pub fn id_type(&self) -> CustomerIdType {
        self.id_type
    }

    /// The customer's email as given when nominated.
    pub fn email(&self) -> &EmailAddress {
        &self.email
    }

    /// Why the email's domain does not belong to the given tenant, when the
    /// partner said so (R-ADD-4).
    pub fn mismatch_reason(&self) -> Option<&Comment> {
        self.mismatch_reason.as_ref()
    }
}

/// Decides who the customer is from what the partner typed and the tenant
/// directory's answer (R-ADD-3, R-ADD-4).
///
/// - Email only: the directory's tenant for the domain, or
///   [`Refusal::NoTenantForDomain`].
/// - Tenant id or TPID: if the directory says the domain is not theirs, a
///   mismatch reason is required ([`Refusal::DomainMismatch`]) and then kept.
/// - An answer that does not fit the question is refused as
///   [`Refusal::DirectoryAnswerMismatch`], never guessed at.
pub fn identify_customer(
    input: CustomerIdInput,
    email: EmailAddress,
    mismatch_reason: Option<Comment>,
    finding: DirectoryFinding,
) -> Result<Customer, Refusal> {
    let id_type = input.id_type();
    let customer = |id: CustomerId, mismatch_reason: Option<Comment>| Customer {
        id,
        id_type,
        email: email.clone(),
        mismatch_reason,
    };
    match (input, finding) {
        (CustomerIdInput::EmailOnly, DirectoryFinding::TenantOfDomain(Some(tenant))) => {
            Ok(customer(CustomerId::Tenant(tenant), None))
        }
        (CustomerIdInput::EmailOnly, DirectoryFinding::TenantOfDomain(None)) => {
            Err(Refusal::NoTenantForDomain {
                domain: email.domain().clone(),
            })
        }
        (
            CustomerIdInput::TenantId(_) | CustomerIdInput::Tpid(_),
            DirectoryFinding::OwnsDomain(owned),
        ) => {
            let id = match input {
                CustomerIdInput::TenantId(tenant) => CustomerId::Tenant(tenant),
                CustomerIdInput::Tpid(tpid) => CustomerId::Tpid(tpid),
                _ => return Err(Refusal::DirectoryAnswerMismatch),
            };
            match (owned, mismatch_reason) {
                (true, _) => Ok(customer(id, None)),
                (false, Some(reason)) => Ok(customer(id, Some(reason))),
                (false, None) => Err(Refusal::DomainMismatch {
                    domain: email.domain().clone(),
                }),
            }
        }
        (CustomerIdInput::AzureSubscriptionId(id), DirectoryFinding::NotAsked) => {
            Ok(customer(CustomerId::AzureSubscription(id), None))
        }
        (CustomerIdInput::MsxOpportunityId(id), DirectoryFinding::NotAsked) => {
            Ok(customer(CustomerId::MsxOpportunity(id), None))
        }
        _ => Err(Refusal::DirectoryAnswerMismatch),
    }
}

/// A person to write to: a customer contact or a partner contact.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Contact {
    /// The person's name.
    pub name: ContactName,
    /// Where to write.
    pub email: EmailAddress,
}

/// A non-empty list of at most [`Contacts::MAX`] distinct contacts.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "Vec<Contact>", into = "Vec<Contact>")]
pub struct Contacts(Vec<Contact>);

impl Contacts {
    /// The most contacts a list holds.
    pub const MAX: usize = 10;

    /// A list of contacts; refused when empty, too long, or naming one email
    /// twice.
    pub fn new(contacts: Vec<Contact>) -> Result<Self, InvalidValue> {
        if contacts.is_empty() {
            return Err(InvalidValue::new("contacts", Problem::Empty));
        }
        if contacts.len() > Self::MAX {
            return Err(InvalidValue::new(
                "contacts",
                Problem::TooLong {
                    max: Self::MAX,
                    actual: contacts.len(),
                },
            ));
        }
        for (i, contact) in contacts.iter().enumerate() {
            if contacts[..i].iter().any(|c| c.email == contact.email) {
                return Err(InvalidValue::new(
                    "contacts",
                    Problem::Mismatch(format!("{} is listed twice", contact.email)),
                ));
            }
        }
        Ok(Self(contacts))
    }

    /// One contact.
    pub fn one(name: ContactName, email: EmailAddress) -> Self {
        Self(vec![Contact { name, email }])
    }

    /// The contacts, in the order given.
    pub fn as_slice(&self) -> &[Contact] {
        &self.0
    }

    /// Their email addresses, to send to.
    pub fn emails(&self) -> Vec<EmailAddress> {
        self.0.iter().map(|c| c.email.clone()).collect()
    }
}

impl TryFrom<Vec<Contact>> for Contacts {
    type Error = InvalidValue;
    fn try_from(contacts: Vec<Contact>) -> Result<Self, InvalidValue> {
        Contacts::new(contacts)
    }
}

impl From<Contacts> for Vec<Contact> {
    fn from(contacts: Contacts) -> Vec<Contact> {
        contacts.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email(s: &str) -> EmailAddress {
        s.parse().unwrap()
    }

    fn tenant() -> TenantId {
        "7f1c2c4e-5d0b-4b57-9d43-2b8c1a9e0f11".parse().unwrap()
    }

    #[test]
    fn r_add_3_email_only_derives_the_tenant_from_the_domain() {
        let c = identify_customer(
            CustomerIdInput::EmailOnly,
            email("it@contoso.example"),
            None,
            DirectoryFinding::TenantOfDomain(Some(tenant())),
        )
        .unwrap();
        assert_eq!(c.id(), &CustomerId::Tenant(tenant()));
        assert_eq!(c.id_type(), CustomerIdType::Domain);
    }

    #[test]
    fn r_add_3_a_domain_with_no_tenant_is_refused() {
        let err = identify_customer(
            CustomerIdInput::EmailOnly,
            email("it@unknown.example"),
            None,
            DirectoryFinding::TenantOfDomain(None),
        )
        .unwrap_err();
        assert!(
            matches!(err, Refusal::NoTenantForDomain { ref domain } if domain.as_str() == "unknown.example")
        );
        assert_eq!(err.rule(), "R-ADD-3");
    }

    #[test]
    fn r_add_4_a_mismatch_needs_a_reason_and_keeps_it() {
        let input = CustomerIdInput::TenantId(tenant());
        let refused = identify_customer(
            input,
            email("it@fabrikam.example"),
            None,
            DirectoryFinding::OwnsDomain(false),
        )
        .unwrap_err();
        assert_eq!(refused.rule(), "R-ADD-4");
        let reason: Comment = "Subsidiary uses its parent's mail domain".parse().unwrap();
        let accepted = identify_customer(
            input,
            email("it@fabrikam.example"),
            Some(reason.clone()),
            DirectoryFinding::OwnsDomain(false),
        )
        .unwrap();
        assert_eq!(accepted.mismatch_reason(), Some(&reason));
    }

    #[test]
    fn r_add_4_a_tpid_that_owns_the_domain_needs_no_reason() {
        let tpid: Tpid = "12345".parse().unwrap();
        let c = identify_customer(
            CustomerIdInput::Tpid(tpid),
            email("it@contoso.example"),
            None,
            DirectoryFinding::OwnsDomain(true),
        )
        .unwrap();
        assert_eq!(c.id(), &CustomerId::Tpid(tpid));
        assert_eq!(c.mismatch_reason(), None);
    }

    #[test]
    fn an_answer_to_another_question_is_refused() {
        let err = identify_customer(
            CustomerIdInput::EmailOnly,
            email("it@contoso.example"),
            None,
            DirectoryFinding::OwnsDomain(true),
        )
        .unwrap_err();
        assert_eq!(err, Refusal::DirectoryAnswerMismatch);
    }

    #[test]
    fn customer_ids_round_trip_as_keys() {
        for id in [
            CustomerId::Tenant(tenant()),
            CustomerId::Tpid("77".parse().unwrap()),
            CustomerId::MsxOpportunity("7-ABCDEF12".parse().unwrap()),
        ] {
            assert_eq!(id.to_string().parse::<CustomerId>().unwrap(), id);
        }
        assert_eq!(
            "bogus:1".parse::<CustomerId>().unwrap_err().field(),
            "customer_id"
        );
    }

    #[test]
    fn r_input_contacts_are_non_empty_and_distinct() {
        assert!(Contacts::new(vec![]).is_err());
        let c = Contact {
            name: "Ada".parse().unwrap(),
            email: email("ada@contoso.example"),
        };
        assert!(Contacts::new(vec![c.clone(), c]).is_err());
    }
}
