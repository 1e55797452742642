//! Storage classes and OBS's website redirect location.

use std::fmt;

use crate::{Dialect, ErrorCode, InvalidValue};

/// A storage class, held in the vendor's canonical spelling (`STANDARD_IA`, OSS `IA`).
///
/// Parsing is case-insensitive because SDKs pass through whatever the caller typed; the
/// canonical spelling is what goes back out in headers and listings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StorageClass(&'static str);

impl StorageClass {
    /// Parses `value` as one of `dialect`'s storage classes; fails with the dialect's
    /// invalid-storage-class code (`InvalidStorageClass`, or `InvalidArgument` for OSS).
    pub fn parse(dialect: Dialect, value: &str) -> Result<Self, InvalidValue> {
        let spec = dialect.spec();
        let value = value.trim();
        spec.storage_classes.iter().find(|c| c.eq_ignore_ascii_case(value)).map(|c| StorageClass(c)).ok_or_else(|| {
            InvalidValue::new(spec.invalid_storage_class.clone(), "The storage class you specified is not valid.")
        })
    }

    /// The class objects get when the request names none: the first row of the dialect's
    /// table (`STANDARD`, or `Standard` for OSS).
    pub fn default_for(dialect: Dialect) -> Self {
        StorageClass(dialect.spec().storage_classes.first().copied().unwrap_or("STANDARD"))
    }

    /// The canonical spelling.
    pub fn as_str(self) -> &'static str {
        self.0
    }
}

impl fmt::Display for StorageClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// The target of `x-obs-website-redirect-location` / `x-amz-website-redirect-location`:
/// a path in the same bucket (`/…`) or an absolute `http://` / `https://` URL, at most 2 KB.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct WebsiteRedirectLocation(Box<str>);

impl WebsiteRedirectLocation {
    /// Longest accepted value, in bytes.
    pub const MAX_LEN: usize = 2 * 1024;

    /// Validates `value`; fails with `InvalidArgument`.
    pub fn parse(value: &str) -> Result<Self, InvalidValue> {
        if value.len() > Self::MAX_LEN {
            return Err(InvalidValue::argument("The website redirect location must not exceed 2 KB."));
        }
        let lower = value.get(..8).unwrap_or(value).to_ascii_lowercase();
        let ok = value.starts_with('/') || lower.starts_with("http://") || lower.starts_with("https://");
        if !ok {
            return Err(InvalidValue::new(
                ErrorCode::InvalidArgument,
                "The website redirect location must start with /, http:// or https://.",
            ));
        }
        Ok(WebsiteRedirectLocation(value.into()))
    }

    /// The location.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_classes_per_dialect() {
        assert_eq!(StorageClass::parse(Dialect::Aws, "standard_ia").unwrap().as_str(), "STANDARD_IA");
        assert_eq!(StorageClass::parse(Dialect::Oss, "ia").unwrap().as_str(), "IA");
        assert_eq!(StorageClass::parse(Dialect::Oss, "COLDARCHIVE").unwrap().as_str(), "ColdArchive");
        assert_eq!(StorageClass::parse(Dialect::Obs, "WARM").unwrap().as_str(), "WARM");
        assert_eq!(StorageClass::default_for(Dialect::Oss).as_str(), "Standard");
        // Another vendor's class is not this vendor's.
        assert_eq!(StorageClass::parse(Dialect::Aws, "WARM").unwrap_err().code, ErrorCode::InvalidStorageClass);
        assert_eq!(StorageClass::parse(Dialect::Oss, "STANDARD_IA").unwrap_err().code, ErrorCode::InvalidArgument);
        assert!(StorageClass::parse(Dialect::Cos, "").is_err());
    }

    #[test]
    fn every_table_class_parses_to_itself() {
        for d in Dialect::ALL {
            for class in d.spec().storage_classes {
                assert_eq!(StorageClass::parse(d, class).unwrap().as_str(), *class);
                assert_eq!(StorageClass::parse(d, &class.to_ascii_lowercase()).unwrap().as_str(), *class);
            }
        }
    }

    #[test]
    fn redirect_locations() {
        for ok in ["/index.html", "http://example.com/a", "HTTPS://example.com"] {
            assert_eq!(WebsiteRedirectLocation::parse(ok).unwrap().as_str(), ok);
        }
        for bad in ["", "index.html", "ftp://x", "javascript:alert(1)", "http:/x"] {
            assert_eq!(WebsiteRedirectLocation::parse(bad).unwrap_err().code, ErrorCode::InvalidArgument, "{bad}");
        }
        let long = format!("/{}", "a".repeat(2048));
        assert!(WebsiteRedirectLocation::parse(&long).is_err());
        assert!(WebsiteRedirectLocation::parse(&long[..2048]).is_ok());
    }
}
