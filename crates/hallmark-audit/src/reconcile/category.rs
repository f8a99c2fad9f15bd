//! The categories of a reconciliation.

/// The categories of a [`Report`](super::Report), in report order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Category {
    /// [`Report::provisioned_and_shipped`](super::Report::provisioned_and_shipped)
    ProvisionedAndShipped,
    /// [`Report::provisioned_not_shipped`](super::Report::provisioned_not_shipped)
    ProvisionedNotShipped,
    /// [`Report::shipped_not_provisioned`](super::Report::shipped_not_provisioned)
    ShippedNotProvisioned,
    /// [`Report::duplicate_certified`](super::Report::duplicate_certified)
    DuplicateCertified,
    /// [`Report::duplicate_shipped`](super::Report::duplicate_shipped)
    DuplicateShipped,
    /// [`Report::duplicate_scrapped`](super::Report::duplicate_scrapped)
    DuplicateScrapped,
    /// [`Report::issued_not_installed`](super::Report::issued_not_installed)
    IssuedNotInstalled,
    /// [`Report::scrapped`](super::Report::scrapped)
    Scrapped,
    /// [`Report::scrapped_but_shipped`](super::Report::scrapped_but_shipped)
    ScrappedButShipped,
    /// [`Report::scrapped_not_provisioned`](super::Report::scrapped_not_provisioned)
    ScrappedNotProvisioned,
}

impl Category {
    /// Every category, in report order.
    pub const ALL: [Self; 10] = [
        Self::ProvisionedAndShipped,
        Self::ProvisionedNotShipped,
        Self::ShippedNotProvisioned,
        Self::DuplicateCertified,
        Self::DuplicateShipped,
        Self::DuplicateScrapped,
        Self::IssuedNotInstalled,
        Self::Scrapped,
        Self::ScrappedButShipped,
        Self::ScrappedNotProvisioned,
    ];

    /// The JSON key (the [`Report`](super::Report) field name).
    pub fn key(self) -> &'static str {
        match self {
            Self::ProvisionedAndShipped => "provisioned_and_shipped",
            Self::ProvisionedNotShipped => "provisioned_not_shipped",
            Self::ShippedNotProvisioned => "shipped_not_provisioned",
            Self::DuplicateCertified => "duplicate_certified",
            Self::DuplicateShipped => "duplicate_shipped",
            Self::DuplicateScrapped => "duplicate_scrapped",
            Self::IssuedNotInstalled => "issued_not_installed",
            Self::Scrapped => "scrapped",
            Self::ScrappedButShipped => "scrapped_but_shipped",
            Self::ScrappedNotProvisioned => "scrapped_not_provisioned",
        }
    }

    /// A short label for people.
    pub fn label(self) -> &'static str {
        match self {
            Self::ProvisionedAndShipped => "Provisioned and shipped",
            Self::ProvisionedNotShipped => "Provisioned, not shipped",
            Self::ShippedNotProvisioned => "Shipped, not provisioned",
            Self::DuplicateCertified => "Certified more than once",
            Self::DuplicateShipped => "Shipped more than once",
            Self::DuplicateScrapped => "Scrapped more than once",
            Self::IssuedNotInstalled => "Issued, not installed",
            Self::Scrapped => "Scrapped",
            Self::ScrappedButShipped => "Scrapped but shipped",
            Self::ScrappedNotProvisioned => "Scrapped, not provisioned",
        }
    }

    /// What a non-empty list may mean, in a few words.
    pub fn meaning(self) -> &'static str {
        match self {
            Self::ProvisionedAndShipped => "as expected",
            Self::ProvisionedNotShipped => "possible leakage",
            Self::ShippedNotProvisioned => "possible counterfeits",
            Self::DuplicateCertified => "extra valid certificates",
            Self::DuplicateShipped => "cloned ids or list errors",
            Self::DuplicateScrapped => "list errors",
            Self::IssuedNotInstalled => "valid certificates no device holds",
            Self::Scrapped => "for information",
            Self::ScrappedButShipped => "scrap that left the factory",
            Self::ScrappedNotProvisioned => "unknown scrap",
        }
    }

    /// Whether a non-empty list is a discrepancy (everything but
    /// [`ProvisionedAndShipped`](Self::ProvisionedAndShipped) and
    /// [`Scrapped`](Self::Scrapped)).
    pub fn is_discrepancy(self) -> bool {
        !matches!(self, Self::ProvisionedAndShipped | Self::Scrapped)
    }
}
